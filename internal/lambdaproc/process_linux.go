package lambdaproc

import (
	"os/exec"
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
