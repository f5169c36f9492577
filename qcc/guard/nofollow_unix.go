//go:build unix

package guard

import (
	"os"
	"syscall"
)

// noFollow makes opening a path whose last element is a symbolic link
// fail, so that the files the guard writes are never written through one.
const noFollow = syscall.O_NOFOLLOW

// unlock releases bbolt's lock on f. Closing f alone does not: bbolt's
// memory map still refers to the open file, and the lock goes with it.
func unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
