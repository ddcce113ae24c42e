//go:build !linux

package lambdaproc

import "os/exec"

func setProcessAttributes(*exec.Cmd) {}

func killProcess(cmd *exec.Cmd) { cmd.Process.Kill() }
