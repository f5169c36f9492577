package sessionstate

import (
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestZeroAndStored: a new State answers mcp-go's defaults, then what
// was stored.
func TestZeroAndStored(t *testing.T) {
	var s State
	if s.GetClientInfo().Name != "" || s.ProtocolVersion() != "" || s.GetLogLevel() != mcp.LoggingLevelError ||
		s.GetClientCapabilities().Roots != nil {
		t.Fatalf("zero State: %+v %q %q", s.GetClientInfo(), s.ProtocolVersion(), s.GetLogLevel())
	}
	s.SetClientInfo(mcp.Implementation{Name: "c", Version: "1"})
	s.SetClientCapabilities(mcp.ClientCapabilities{Roots: &struct {
		ListChanged bool `json:"listChanged,omitempty"`
	}{ListChanged: true}})
	s.SetProtocolVersion("2025-06-18")
	s.SetLogLevel(mcp.LoggingLevelDebug)
	if s.GetClientInfo().Name != "c" || s.GetClientCapabilities().Roots == nil || s.ProtocolVersion() != "2025-06-18" ||
		s.GetLogLevel() != mcp.LoggingLevelDebug {
		t.Fatalf("stored State: %+v %+v %q %q", s.GetClientInfo(), s.GetClientCapabilities(), s.ProtocolVersion(), s.GetLogLevel())
	}
}
