// Package syncbuf holds the one buffer that tests share for logs and
// process output written by many goroutines. It is a leaf, importing only
// the standard library, so that the Redis tests (internal/testkit/redistest,
// qcc/guard/redisstore) can use it without pulling in MCP and the sandbox
// as testkit would; testkit.SyncBuffer is the same type.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent writers.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
