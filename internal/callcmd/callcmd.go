// Package callcmd is the `qcc-mcp call` subcommand: one tool call through
// the same MCP server and handlers as the server, over an in-process
// client, with its result printed. It is for scripts and for trying a tool
// by hand.
package callcmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/config"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

const usage = `usage: qcc-mcp call [flags] <tool> [name=value ...]
       qcc-mcp call [flags] <tool> '{"name": value, ...}'
Runs one tool through the same server and prints its text (--json: the whole result).
Each value is typed by the tool's input schema: page=2 is an integer, exact=false a boolean.
Exit status: 0 success, 1 the tool reported an error or the call failed, 2 usage error.
Tools: search_certifications, get_certification_detail.

Flags:
`

// Command is one parsed call.
type Command struct {
	Tool      string
	Arguments map[string]any
	JSON      bool // print the whole CallToolResult as JSON
}

// ErrUsage is returned by Parse for a usage error it has already reported
// on stderr (the flag package reports its own the same way).
var ErrUsage = errors.New("usage error")

// Parse reads the call's flags, which may come before or after the tool
// and its arguments, and types each argument by the tool's input schema.
// It returns flag.ErrHelp after printing the help, and an error after
// printing the problem on stderr. The configuration still needs Load.
func Parse(args []string, stderr io.Writer) (*config.Config, *Command, error) {
	cfg, fs := config.NewCall(stderr)
	cmd := &Command{}
	fs.BoolVar(&cmd.JSON, "json", false, "print the whole CallToolResult as JSON")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
		fmt.Fprint(stderr, config.EnvironmentHelp(true))
	}
	var positional []string
	for rest := args; ; {
		if err := cfg.Parse(fs, rest); err != nil {
			return nil, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(positional) == 0 {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
		return nil, nil, ErrUsage
	}
	cmd.Tool = positional[0]
	var tool *tools.Tool
	for _, t := range tools.Tools(nil, tools.Options{}) {
		if t.Tool.Name == cmd.Tool {
			tool = &t
			break
		}
	}
	if tool == nil {
		fmt.Fprintf(stderr, "qcc-mcp call: unknown tool %q\n%s", cmd.Tool, usage)
		return nil, nil, ErrUsage
	}
	var err error
	if cmd.Arguments, err = parseArguments(positional[1:], tool.ArgumentTypes()); err != nil {
		fmt.Fprintf(stderr, "qcc-mcp call: %v\n", err)
		return nil, nil, ErrUsage
	}
	return cfg, cmd, nil
}

// Run makes the call on s and prints the result's text blocks on stdout
// (with JSON, the whole result). isError reports a tool result marked as
// an error; err a call that could not be made.
func Run(ctx context.Context, s *server.MCPServer, cmd *Command, version string, stdout io.Writer) (isError bool, err error) {
	c, err := client.NewInProcessClient(s)
	if err != nil {
		return false, err
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return false, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "qcc-mcp call", Version: version}
	if _, err := c.Initialize(ctx, init); err != nil {
		return false, err
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = cmd.Tool
	req.Params.Arguments = cmd.Arguments
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return false, err
	}
	if cmd.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return false, err
		}
	} else {
		for _, content := range res.Content {
			if tc, ok := content.(mcp.TextContent); ok {
				fmt.Fprintln(stdout, strings.TrimRight(tc.Text, "\n"))
			}
		}
	}
	return res.IsError, nil
}

// IsHelp reports whether a Parse error is the request for help.
func IsHelp(err error) bool { return errors.Is(err, flag.ErrHelp) }

// parseArguments builds tool arguments from name=value words, typing each
// value by the tool's input schema, or from one JSON object.
func parseArguments(words []string, types map[string]string) (map[string]any, error) {
	args := map[string]any{}
	if len(words) == 1 && strings.HasPrefix(strings.TrimSpace(words[0]), "{") {
		if err := json.Unmarshal([]byte(words[0]), &args); err != nil {
			return nil, fmt.Errorf("arguments are not a JSON object: %v", err)
		}
		return args, nil
	}
	known := make([]string, 0, len(types))
	for k := range types {
		known = append(known, k)
	}
	sort.Strings(known)
	for _, w := range words {
		name, value, ok := strings.Cut(w, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("argument %q: want name=value", w)
		}
		typ, found := types[name]
		if !found {
			return nil, fmt.Errorf("unknown argument %q; this tool takes %s", name, strings.Join(known, ", "))
		}
		switch typ {
		case "integer":
			n, err := strconv.Atoi(value)
			if err != nil {
				return nil, fmt.Errorf("argument %s=%q: want an integer", name, value)
			}
			args[name] = n
		case "number":
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return nil, fmt.Errorf("argument %s=%q: want a number", name, value)
			}
			args[name] = f
		case "boolean":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return nil, fmt.Errorf("argument %s=%q: want true or false", name, value)
			}
			args[name] = b
		default:
			args[name] = value
		}
	}
	return args, nil
}
