package lambdaproc

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// setProcessAttributes puts a function process in its own process group, and
// has the kernel kill it if apictl dies, so no function process is orphaned.
func setProcessAttributes(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killProcess kills the function process and anything it started.
func killProcess(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// connectedFromProcess tells whether the peer of a loopback TCP connection is
// a socket that process pid holds. The kernel's socket table
// (/proc/net/tcp, proc(5)) names the socket by inode, and /proc/<pid>/fd
// lists the sockets the process holds as links to "socket:[inode]".
func connectedFromProcess(conn net.Conn, pid int) (bool, error) {
	if pid <= 0 {
		return false, fmt.Errorf("the function's process has not started")
	}
	inode, err := peerSocketInode(conn)
	if err != nil {
		return false, err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false, err
	}
	want := "socket:[" + inode + "]"
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc", fmt.Sprint(pid), "fd", fd.Name())); err == nil && target == want {
			return true, nil
		}
	}
	return false, nil
}

// peerSocketInode finds the inode of the socket at the other end of conn: the
// entry whose local address is conn's remote one and whose remote address is
// conn's local one.
func peerSocketInode(conn net.Conn) (string, error) {
	peer, ok1 := conn.RemoteAddr().(*net.TCPAddr)
	self, ok2 := conn.LocalAddr().(*net.TCPAddr)
	if !ok1 || !ok2 || peer.IP.To4() == nil {
		return "", fmt.Errorf("not an IPv4 TCP connection")
	}
	file, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "", err
	}
	defer file.Close()
	wantLocal, wantRemote := procNetAddress(peer), procNetAddress(self)
	lines := bufio.NewScanner(file)
	for lines.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		fields := strings.Fields(lines.Text())
		if len(fields) > 9 && fields[1] == wantLocal && fields[2] == wantRemote {
			return fields[9], nil
		}
	}
	if err := lines.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no socket in /proc/net/tcp for %s", peer)
}

// procNetAddress writes an IPv4 address as /proc/net/tcp does: the address's
// four bytes read as a number in the machine's byte order, then the port,
// both in upper-case hex.
func procNetAddress(addr *net.TCPAddr) string {
	return fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(addr.IP.To4()), addr.Port)
}
