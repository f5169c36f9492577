package guard

import (
	"container/list"
	"sync"
	"time"
)

// entry is one cached answer. It is never modified once made, so it can be
// read outside the cache's lock; callers get copies of val, never val.
type entry struct {
	key string
	// val is a *qcc.SearchResult or a *qcc.CertificationDetail.
	val       any
	fetchedAt time.Time
	expires   time.Time
	// size is what the entry counts against the byte bound: its encoded
	// answer and its key.
	size int64
}

// fresh reports whether e may answer a call at now from a caller that
// accepts answers up to maxAge old (any age when limited is false). A
// maxAge of zero or less asks for a new answer whatever the clock says.
func (e *entry) fresh(now time.Time, maxAge time.Duration, limited bool) bool {
	if !now.Before(e.expires) {
		return false
	}
	return !limited || maxAge > 0 && now.Sub(e.fetchedAt) <= maxAge
}

// memCache is a least-recently-used cache bounded by the bytes of its
// entries. One mutex is enough: every operation is a map access and a few
// pointer moves.
type memCache struct {
	mu       sync.Mutex
	maxBytes int64
	bytes    int64
	order    *list.List // of *entry, most recently used first
	items    map[string]*list.Element
}

func newMemCache(maxBytes int64) *memCache {
	return &memCache{maxBytes: maxBytes, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns the entry for key and marks it as recently used.
func (c *memCache) get(key string) (*entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry), true
}

// add stores e, replacing any entry for the same key, and evicts the least
// recently used entries until the cache fits its bound again. An entry
// larger than the whole bound is not stored at all.
func (c *memCache) add(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[e.key]; ok {
		c.removeElement(el)
	}
	if e.size > c.maxBytes {
		return
	}
	c.items[e.key] = c.order.PushFront(e)
	c.bytes += e.size
	for c.bytes > c.maxBytes {
		c.removeElement(c.order.Back())
	}
}

// remove drops the entry for key, if any.
func (c *memCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.removeElement(el)
	}
}

func (c *memCache) removeElement(el *list.Element) {
	e := c.order.Remove(el).(*entry)
	delete(c.items, e.key)
	c.bytes -= e.size
}
