//go:build !linux

package localapi

import "os/exec"

func setProcessAttributes(*exec.Cmd) {}

func killProcess(cmd *exec.Cmd) { cmd.Process.Kill() }
