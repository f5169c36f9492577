// Package loopback holds the one rule for "this machine only", shared by
// the listen-address check of the configuration and the origin check of
// the HTTP front, so that the two can never disagree.
package loopback

import "net"

// Host reports whether host names this machine only: "localhost" or a
// loopback IP address. Names that merely start with "localhost" do not
// count (a DNS rebinding lookalike).
func Host(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr reports whether a listen address ("host:port") only accepts local
// connections. An address without a host (":8080") listens everywhere.
func Addr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && Host(host)
}
