//go:build !linux

package redistest

import "syscall"

// sysProcAttr has no parent-death signal to ask for outside Linux; Start's
// cleanup still ends the server when the test ends normally.
func sysProcAttr() *syscall.SysProcAttr { return nil }
