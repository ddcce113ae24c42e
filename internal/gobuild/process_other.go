//go:build !linux

package gobuild

import "os/exec"

// ownProcessGroup leaves the command as it is: ctx's end kills the go command
// itself, and on this platform not what it started.
func ownProcessGroup(*exec.Cmd) {}
