//go:build !unix

package guard

import "os"

// noFollow is 0 where the system has no O_NOFOLLOW; the Lstat checks
// before opening still refuse a link.
const noFollow = 0

// unlock does nothing: there the lock is the handle's, released when it
// is closed.
func unlock(*os.File) error { return nil }
