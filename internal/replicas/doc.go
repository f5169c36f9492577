// Package replicas holds the tests of several qcc-mcp replicas sharing one
// Redis (issue 11): three whole servers in process, each on its own HTTP
// listener, on one real redis-server and one sandbox QCC served over
// loopback HTTP, driven by MCP clients whose requests go round-robin over
// the replicas, in both protocol eras. It has no code of its own beyond
// the test helpers; the tests skip with one line when redis-server is not
// installed (and fail under CI, which must run them).
package replicas
