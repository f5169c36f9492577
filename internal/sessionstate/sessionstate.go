// Package sessionstate is what an MCP session of ours remembers of its
// client, as mcp-go's own sessions do: the client's info and
// capabilities, the protocol version and the log level. Embedded, it
// gives a session type the methods of server.SessionWithClientInfo,
// server.SessionWithLogging and server.SessionWithProtocolVersion. The
// stdio loop's session and the HTTP front's per-request session embed it.
package sessionstate

import (
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
)

// State is safe for concurrent use; its zero value is ready.
type State struct {
	clientInfo   atomic.Value // mcp.Implementation
	capabilities atomic.Value // mcp.ClientCapabilities
	version      atomic.Value // string
	logLevel     atomic.Value // mcp.LoggingLevel
}

// GetClientInfo returns what SetClientInfo stored, or the zero value.
func (s *State) GetClientInfo() mcp.Implementation {
	v, _ := s.clientInfo.Load().(mcp.Implementation)
	return v
}

// SetClientInfo stores the client's info.
func (s *State) SetClientInfo(info mcp.Implementation) { s.clientInfo.Store(info) }

// GetClientCapabilities returns what SetClientCapabilities stored, or
// the zero value.
func (s *State) GetClientCapabilities() mcp.ClientCapabilities {
	v, _ := s.capabilities.Load().(mcp.ClientCapabilities)
	return v
}

// SetClientCapabilities stores the client's capabilities.
func (s *State) SetClientCapabilities(c mcp.ClientCapabilities) { s.capabilities.Store(c) }

// ProtocolVersion returns what SetProtocolVersion stored, or "".
func (s *State) ProtocolVersion() string {
	v, _ := s.version.Load().(string)
	return v
}

// SetProtocolVersion stores the protocol version.
func (s *State) SetProtocolVersion(version string) { s.version.Store(version) }

// SetLogLevel stores the level of log messages the client asked for.
func (s *State) SetLogLevel(level mcp.LoggingLevel) { s.logLevel.Store(level) }

// GetLogLevel returns what SetLogLevel stored, or error, mcp-go's
// default for a session that set none.
func (s *State) GetLogLevel() mcp.LoggingLevel {
	if v, ok := s.logLevel.Load().(mcp.LoggingLevel); ok {
		return v
	}
	return mcp.LoggingLevelError
}
