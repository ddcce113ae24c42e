//go:build unix

package gobuild

import (
	"os"
	"path/filepath"
	"syscall"
)

// lockFolder holds an exclusive lock on dir until unlock is called, waiting
// for any other holder, in this process or another.
func lockFolder(dir string) (unlock func(), err error) {
	file, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(file.Fd()), syscall.LOCK_EX); err != nil {
		file.Close()
		return nil, err
	}
	return func() { file.Close() }, nil // closing the file releases the lock
}
