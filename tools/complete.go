package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// CertificateTemplate is the resource template of one certificate's record.
const CertificateTemplate = "qcc://certificates/{cert_id}"

const certificatePrefix = "qcc://certificates/"

// maxCompletions is the protocol's limit on values per completion.
const maxCompletions = 100

// maxRemembered bounds the names and ids kept for completion.
const maxRemembered = 10000

// answered remembers the company names and certificate ids this server has
// answered with data, so that completion offers what is already known (and
// cached) rather than guesses. It is bounded; once full, it keeps what it
// has.
type answered struct {
	mu        sync.Mutex
	companies map[string]bool
	ids       map[string]bool
}

func newAnswered(demo bool) *answered {
	a := &answered{companies: map[string]bool{}, ids: map[string]bool{}}
	if demo {
		for _, c := range sandbox.Companies() {
			a.companies[c] = true
		}
	}
	return a
}

func (a *answered) add(set map[string]bool, v string) {
	if a == nil || v == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(set) < maxRemembered {
		set[v] = true
	}
}

func (a *answered) company(name string) {
	if a != nil {
		a.add(a.companies, name)
	}
}

func (a *answered) id(id string) {
	if a != nil {
		a.add(a.ids, id)
	}
}

// complete returns up to maxCompletions values of set starting with
// prefix, sorted, and how many there are.
func (a *answered) complete(set map[string]bool, prefix string) *mcp.Completion {
	a.mu.Lock()
	var out []string
	for v := range set {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	a.mu.Unlock()
	sort.Strings(out)
	c := &mcp.Completion{Values: []string{}, Total: len(out)}
	if len(out) > maxCompletions {
		out, c.HasMore = out[:maxCompletions], true
	}
	c.Values = append(c.Values, out...)
	return c
}

// promptCompleter completes the prompt's company argument.
type promptCompleter struct {
	a   *answered
	log *slog.Logger
}

// CompletePromptArgument offers the company names answered so far.
func (p promptCompleter) CompletePromptArgument(_ context.Context, prompt string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (out *mcp.Completion, err error) {
	defer recoverCompletion(p.log, prompt, &out, &err)
	if prompt != DueDiligence || arg.Name != "company" {
		return &mcp.Completion{Values: []string{}}, nil
	}
	return p.a.complete(p.a.companies, strings.TrimSpace(arg.Value)), nil
}

// resourceCompleter completes the template's cert_id.
type resourceCompleter struct {
	a   *answered
	log *slog.Logger
}

// CompleteResourceArgument offers the certificate ids answered so far.
func (r resourceCompleter) CompleteResourceArgument(_ context.Context, uri string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (out *mcp.Completion, err error) {
	defer recoverCompletion(r.log, uri, &out, &err)
	if uri != CertificateTemplate || arg.Name != "cert_id" {
		return &mcp.Completion{Values: []string{}}, nil
	}
	return r.a.complete(r.a.ids, strings.TrimSpace(arg.Value)), nil
}

// addCertificateTemplate serves qcc://certificates/{cert_id}: the record
// get_certification_detail returns, through the same guard.
func addCertificateTemplate(s *server.MCPServer, b guard.Upstream, o Options, a *answered) {
	s.AddResourceTemplate(mcp.NewResourceTemplate(CertificateTemplate, "certificate",
		mcp.WithTemplateTitle("QCC certificate record"),
		mcp.WithTemplateDescription("One certificate's full record from QCC as JSON, the same content as get_certification_detail's structured result. "+
			"Answered from this server's cache when it can (free); otherwise one billed QCC call, like the tool. cert_id is an id from search_certifications."),
		mcp.WithTemplateMIMEType("application/json")),
		recoverResource(o.Logger, CertificateTemplate, func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			raw := strings.TrimPrefix(req.Params.URI, certificatePrefix)
			id, err := checkCertID(raw)
			if err != nil {
				text, _, _ := describeError(err, o.Now())
				return nil, errors.New(firstLine(text) + " Nothing was sent to QCC.")
			}
			ctx = context.WithValue(withCaller(ctx), callRecordKey{}, &callRecord{})
			out, err := fetchDetail(ctx, b, o, id, false)
			if err != nil {
				text, _, _ := describeError(err, o.Now())
				return nil, fmt.Errorf("%s", strings.ReplaceAll(text, "\n", " "))
			}
			a.id(out.ID)
			return jsonResource(req.Params.URI, out)
		}))
}
