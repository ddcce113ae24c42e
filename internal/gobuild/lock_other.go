//go:build !unix

package gobuild

import "sync"

var folderLock sync.Mutex

// lockFolder holds a lock until unlock is called. On this platform it keeps
// out only the other builds of this process.
func lockFolder(string) (unlock func(), err error) {
	folderLock.Lock()
	return folderLock.Unlock, nil
}
