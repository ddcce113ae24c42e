package gobuild

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts the command in a process group of its own, which ctx's
// end kills whole.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
