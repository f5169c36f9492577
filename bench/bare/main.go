// Command bare is the floor bench's side-by-side mode measures qcc-mcp
// against: a bare mcp-go server whose one tool, search_certifications,
// makes the same signed QCC call as qcc-mcp and returns the items it
// decoded, written the way a careful person would without any of
// qcc-mcp's guard, validation, text or logging. It is not a product: it
// exists so that "the cost of qcc-mcp" has something to be a ratio of.
//
//	bare --base-url http://127.0.0.1:PORT/api [--transport http --addr 127.0.0.1:PORT]
//
// The keys come from QCC_APP_KEY and QCC_SECRET_KEY, as for qcc-mcp.
package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

func main() {
	base := flag.String("base-url", "", "QCC API root")
	mode := flag.String("transport", "stdio", "stdio or http")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address for --transport http")
	flag.Parse()
	up := &upstream{
		base:   strings.TrimRight(*base, "/"),
		key:    os.Getenv("QCC_APP_KEY"),
		secret: os.Getenv("QCC_SECRET_KEY"),
		// The same pool size as qcc-mcp's, so the comparison is of the
		// servers and not of Go's default of 2 idle connections.
		http: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}},
	}
	s := server.NewMCPServer("bare", "1", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("search_certifications",
		mcp.WithDescription("Certificates of a Chinese company, from QCC."),
		mcp.WithString("company", mcp.Required()),
		mcp.WithNumber("page_size"),
		mcp.WithBoolean("exact"),
	), up.search)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *mode == "http" {
		srv := &http.Server{Addr: *addr, Handler: server.NewStreamableHTTPServer(s, server.WithSessionIdleTTL(time.Minute))}
		go func() { <-ctx.Done(); srv.Close() }()
		fmt.Fprintf(os.Stderr, "listening addr=%s\n", *addr)
		if err = srv.ListenAndServe(); errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	} else {
		err = server.NewStdioServer(s).Listen(ctx, os.Stdin, os.Stdout)
		if errors.Is(err, context.Canceled) {
			err = nil
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type upstream struct {
	base, key, secret string
	http              *http.Client
}

// answer is QCC's envelope for a search, decoded as the document shows it.
type answer struct {
	Status string
	Paging struct{ TotalRecords int }
	Result []struct {
		Id, Name, Type, TypeDesc, No, StartDate, EndDate string
	}
}

func (u *upstream) search(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	company := req.GetString("company", "")
	q := url.Values{"key": {u.key}, "searchKey": {company},
		"isExactlySame": {strconv.FormatBool(req.GetBool("exact", true))}}
	if n := req.GetInt("page_size", 0); n > 0 {
		q.Set("pageSize", strconv.Itoa(n))
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base+"/ECICertification/SearchCertification?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sum := md5.Sum([]byte(u.key + ts + u.secret))
	r.Header.Set("Token", strings.ToUpper(hex.EncodeToString(sum[:])))
	r.Header.Set("Timespan", ts)
	resp, err := u.http.Do(r)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return mcp.NewToolResultError("malformed answer"), nil
	}
	if a.Status != "200" && a.Status != "201" {
		return mcp.NewToolResultError("QCC status " + a.Status), nil
	}
	out := map[string]any{"company": company, "total": a.Paging.TotalRecords, "certifications": a.Result}
	text, _ := json.Marshal(out)
	return mcp.NewToolResultStructured(out, string(text)), nil
}
