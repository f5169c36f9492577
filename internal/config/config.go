// Package config reads qcc-mcp's settings from flags and the environment
// and validates them. Each problem is reported as an *Error naming the one
// setting at fault, as the user wrote it (a flag or a variable), its value
// and what is allowed. Secrets come only from the environment, never from
// flags, so that they do not show in process listings or shell history.
package config

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qcc-mcp/qcc-mcp/internal/auth"
	"github.com/qcc-mcp/qcc-mcp/internal/httpfront"
	"github.com/qcc-mcp/qcc-mcp/internal/loopback"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard/redisstore"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// Config is everything the server and the call subcommand need.
type Config struct {
	Transport       string // stdio or http (sse and streamable-http are the same as http)
	Addr            string
	Demo            bool
	LogLevel        slog.Level
	ShowVersion     bool
	BaseURL         string
	Timeout         time.Duration
	CallTimeout     time.Duration
	AppKey          string // from QCC_APP_KEY
	SecretKey       string // from QCC_SECRET_KEY; never a flag
	SessionIdleTTL  time.Duration
	ShutdownTimeout time.Duration

	// HTTP only.
	AuthTokenFile      string
	AuthToken          string             // MCP_AUTH_TOKEN, or the file when it holds one unnamed token; never a flag
	StaticTokens       *auth.StaticTokens // the tokens of the file or MCP_AUTH_TOKEN; nil: none
	OAuthIssuer        string
	ResourceURL        string
	OAuthScope         string
	AllowedOrigins     []string
	MaxBodyBytes       int64
	BodyReadTimeout    time.Duration
	MaxSSEStreams      int
	MaxSessions        int
	MaxConcurrentCalls int
	MetricsAddr        string

	// Cost control (the guard).
	CacheTTL           time.Duration
	CacheMaxBytes      int64
	CacheFile          string
	Rate               float64
	Burst              int
	MaxRetries         int
	CredentialCooldown time.Duration
	MaxCallsPerDay     int
	MaxCallsPerClient  int // --max-calls-per-client-per-day
	MaxTextBytes       int

	// Shared state (several replicas on one Redis).
	RedisURL             string        // --redis-url or QCC_REDIS_URL; may hold a password: never log it
	RedisPassword        string        // from QCC_REDIS_PASSWORD; never a flag
	RedisTimeout         time.Duration // bound of each Redis operation
	ReplicasHint         int           // replicas sharing the Redis, for the rate limit's local share
	BudgetLocalAllowance int           // requests a replica may count itself per day while Redis is away

	fs      *flag.FlagSet
	call    bool              // the call subcommand: no transport, no HTTP settings
	given   map[string]bool   // flags given on the command line
	fromEnv map[string]string // flag name → the variable that set it
}

// MinSecretKeyLength is the shortest QCC_SECRET_KEY accepted. QCC's
// secret keys are 32 characters; anything much shorter is a paste gone
// wrong, and a very short secret would also make redacting it from text
// meaningless.
const MinSecretKeyLength = 16

// Error is a configuration error: one setting, as the user wrote it, its
// value and what is allowed.
type Error struct {
	Setting string // "--max-calls-per-day" or "QCC_MAX_CALLS_PER_DAY"
	Value   string
	Want    string
}

func (e *Error) Error() string {
	if strings.HasPrefix(e.Setting, "-") {
		return fmt.Sprintf("%s %s: %s", e.Setting, e.Value, e.Want)
	}
	return fmt.Sprintf("%s=%q: %s", e.Setting, e.Value, e.Want)
}

// NewServer returns a configuration and the flag set of the server, whose
// help names the call subcommand and the environment variables.
func NewServer(stderr io.Writer) (*Config, *flag.FlagSet) {
	c := &Config{}
	fs := c.newFlagSet("qcc-mcp", stderr)
	c.serverFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, serverUsage)
		fs.PrintDefaults()
		fmt.Fprint(stderr, EnvironmentHelp(false))
	}
	return c, fs
}

// NewCall returns a configuration and the flag set of the call subcommand:
// only the settings that apply to one tool call, none of the HTTP ones.
// The caller adds its own flags and sets Usage.
func NewCall(stderr io.Writer) (*Config, *flag.FlagSet) {
	c := &Config{call: true, Transport: "stdio"}
	return c, c.newFlagSet("qcc-mcp call", stderr)
}

const serverUsage = `usage: qcc-mcp [flags]                                serve MCP over stdio (default) or HTTP
       qcc-mcp call [flags] <tool> [name=value ...]   run one tool call and print its result
                                                      (flags of its own: qcc-mcp call --help)

Flags:
`

// EnvironmentHelp describes the variables, for the end of a help text;
// call leaves out the HTTP-only one.
func EnvironmentHelp(call bool) string {
	s := `
Environment:
  QCC_APP_KEY, QCC_SECRET_KEY  the QCC credentials (required unless --demo; never flags)
  QCC_BASE_URL, QCC_TIMEOUT, QCC_CACHE_TTL, QCC_CACHE_FILE, QCC_MAX_CALLS_PER_DAY, QCC_REDIS_URL
                               defaults for --base-url, --timeout, --cache-ttl, --cache-file,
                               --max-calls-per-day and --redis-url; a flag given on the command line wins
  QCC_REDIS_PASSWORD           the Redis password (instead of one in the URL; never a flag)
`
	if !call {
		s += "  MCP_AUTH_TOKEN               the bearer token HTTP clients must send (or --auth-token-file)\n"
	}
	return s + "  NO_COLOR                     any value: logs without colour\n"
}

func (c *Config) newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.fs = fs
	c.commonFlags(fs)
	return fs
}

// commonFlags declares the flags that apply to the server and to a single
// call: the QCC client, the cost guard, the result size and logging.
func (c *Config) commonFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.Demo, "demo", false, "answer from the built-in sandbox: no keys, no network, demo data")
	fs.TextVar(&c.LogLevel, "log-level", slog.LevelInfo, "debug, info, warn or error")
	fs.DurationVar(&c.CacheTTL, "cache-ttl", 24*time.Hour, "how long answers are served from the cache (QCC_CACHE_TTL; 0 disables the cache)")
	fs.Int64Var(&c.CacheMaxBytes, "cache-max-bytes", 64<<20, "cache size bound in bytes; least recently used answers go first")
	fs.StringVar(&c.CacheFile, "cache-file", "", "keep the cache, cooldowns and daily budget in this file across restarts (QCC_CACHE_FILE)")
	fs.Float64Var(&c.Rate, "rate", 5, "QCC requests per second at most (0: no rate limit)")
	fs.IntVar(&c.Burst, "burst", 5, "QCC requests that may start at once before --rate applies")
	fs.IntVar(&c.MaxRetries, "max-retries", 2, "retries of a QCC request when a retry can help (network, timeout, garbled answer, 429 and 5xx within their Retry-After, QCC 205)")
	fs.DurationVar(&c.CredentialCooldown, "credential-cooldown", time.Minute, "pause of all QCC calls after a credential or account error (0: no pause)")
	fs.IntVar(&c.MaxCallsPerDay, "max-calls-per-day", 0, "cap on QCC requests per Beijing day, retries included (QCC_MAX_CALLS_PER_DAY; 0: no cap)")
	fs.IntVar(&c.MaxTextBytes, "max-text-bytes", tools.DefaultMaxTextBytes, "bound on each result's text block; longer lists are cut with a note (structured content stays complete)")
	fs.StringVar(&c.BaseURL, "base-url", "", "QCC API root (QCC_BASE_URL; default https://pro.qcc.com/api/yj)")
	fs.DurationVar(&c.Timeout, "timeout", 15*time.Second, "timeout of each QCC request (QCC_TIMEOUT)")
	fs.DurationVar(&c.CallTimeout, "call-timeout", 30*time.Second, "time limit of one tool call's QCC requests, shared by its retries and rate-limit waits")
	fs.StringVar(&c.RedisURL, "redis-url", "", "share the cache, budget, cooldowns, rate limit and sessions with other replicas in this Redis or Valkey: redis://[user@]host:port/db or rediss:// for TLS (QCC_REDIS_URL; password in QCC_REDIS_PASSWORD)")
	fs.DurationVar(&c.RedisTimeout, "redis-timeout", 250*time.Millisecond, "bound of each Redis operation; a slower Redis counts as down")
	fs.IntVar(&c.ReplicasHint, "replicas-hint", 1, "how many replicas share the Redis: while it is down each keeps --rate divided by this")
	fs.IntVar(&c.BudgetLocalAllowance, "budget-local-allowance", 0, "QCC requests a replica may count itself per Beijing day while Redis is down, added to the shared count when it is back (0: with --max-calls-per-day, calls that need QCC are refused during an outage)")
}

// serverFlags declares the flags of a long-running server.
func (c *Config) serverFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Transport, "transport", "stdio", "stdio, or http for streamable HTTP at /mcp and SSE at /sse (sse is accepted as the same)")
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address for --transport http")
	fs.BoolVar(&c.ShowVersion, "version", false, "print the version and exit")
	fs.DurationVar(&c.SessionIdleTTL, "session-idle-ttl", 30*time.Minute, "end legacy streamable HTTP sessions idle this long")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight calls may finish after SIGTERM")
	fs.StringVar(&c.AuthTokenFile, "auth-token-file", "", "file holding the bearer token HTTP clients must send (or set MCP_AUTH_TOKEN), or several lines \"NAME TOKEN\", one per caller")
	fs.StringVar(&c.OAuthIssuer, "oauth-issuer", "", "accept OAuth access tokens of this authorization server (its issuer URL, e.g. https://sso.example.com/realms/main); needs --resource-url")
	fs.StringVar(&c.ResourceURL, "resource-url", "", "this server's canonical MCP URL, e.g. https://mcp.example.com/mcp: the audience access tokens must carry (with --oauth-issuer)")
	fs.StringVar(&c.OAuthScope, "oauth-scope", "", "a scope every OAuth access token must carry (with --oauth-issuer; default: none)")
	fs.IntVar(&c.MaxCallsPerClient, "max-calls-per-client-per-day", 0, "cap on QCC requests each authenticated caller may cause per Beijing day, on top of --max-calls-per-day (0: no cap)")
	fs.Func("allowed-origins", "comma-separated browser origins allowed to call over HTTP, e.g. https://app.example.com (default: none but loopback)", func(v string) error {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				u, err := url.Parse(o)
				if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
					return fmt.Errorf("%q is not an origin like https://app.example.com", o)
				}
				c.AllowedOrigins = append(c.AllowedOrigins, strings.TrimSuffix(o, "/"))
			}
		}
		return nil
	})
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest HTTP request body, or stdio message (one line), accepted")
	fs.DurationVar(&c.BodyReadTimeout, "body-read-timeout", 30*time.Second, "time a client has to send its request body")
	fs.IntVar(&c.MaxSSEStreams, "max-sse-streams", 100, "cap on open long-lived streams (SSE, GET /mcp, subscriptions/listen)")
	fs.IntVar(&c.MaxSessions, "max-sessions", 1000, "cap on open legacy streamable HTTP sessions (clients before protocol 2026-07-28); over it initialize gets 503")
	fs.IntVar(&c.MaxConcurrentCalls, "max-concurrent-calls", 64, "cap on tool calls running at once; a call over it waits up to 0.5s, then gets a retryable busy error (0: no cap)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve /metrics on this separate address without auth (default: /metrics on the main listener, behind auth)")
}

// Parse parses args with fs (from NewServer or NewCall) and notes which
// flags were given; it may be called again with the rest of the arguments.
// The flag package has already reported any error on stderr.
func (c *Config) Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.given == nil {
		c.given = map[string]bool{}
	}
	fs.Visit(func(f *flag.Flag) { c.given[f.Name] = true })
	return nil
}

// Load reads the environment-only settings and the variables of flags not
// given, then validates the whole, returning the first bad setting.
func (c *Config) Load(getenv func(string) string) error {
	c.fromEnv = map[string]string{}
	c.AppKey = strings.TrimSpace(getenv("QCC_APP_KEY"))
	c.SecretKey = strings.TrimSpace(getenv("QCC_SECRET_KEY"))
	c.RedisPassword = getenv("QCC_REDIS_PASSWORD")
	if err := c.fromVariables(getenv); err != nil {
		return err
	}
	if !c.call {
		switch c.Transport {
		case "stdio", "http", "sse", "streamable-http":
		default:
			return c.bad("transport", "want stdio or http")
		}
	}
	if !c.Demo && (c.AppKey == "" || c.SecretKey == "") {
		return fmt.Errorf("QCC_APP_KEY and QCC_SECRET_KEY must be set in the environment (or run with --demo for the built-in sandbox)")
	}
	if n := utf8.RuneCountInString(c.SecretKey); !c.Demo && n < MinSecretKeyLength {
		// Never the value: only its length, which says "cut off" or "wrong variable".
		return fmt.Errorf("QCC_SECRET_KEY has %d characters, but a QCC secret key has at least %d: "+
			"check that the whole key was copied from the QCC console", n, MinSecretKeyLength)
	}
	if c.Demo && c.CacheFile != "" {
		// Sandbox answers in a real cache file would later be served as
		// real QCC data.
		return c.bad("cache-file", "cannot be used with --demo: demo answers would later be served as real QCC data")
	}
	for _, check := range []struct {
		ok   bool
		flag string
		want string
	}{
		{c.Timeout > 0, "timeout", "want a positive duration such as 15s or a number of seconds"},
		{c.CallTimeout > 0, "call-timeout", "want a positive duration such as 30s"},
		{c.CacheTTL >= 0, "cache-ttl", "want a duration of 0 or more, such as 24h (0 disables the cache)"},
		{c.CacheMaxBytes > 0, "cache-max-bytes", "want a positive number of bytes"},
		{c.Rate >= 0, "rate", "want requests per second, 0 or more (0: no rate limit)"},
		{c.Burst >= 1, "burst", "want 1 or more"},
		{c.MaxRetries >= 0, "max-retries", "want 0 or more"},
		{c.CredentialCooldown >= 0, "credential-cooldown", "want a duration of 0 or more (0: no pause)"},
		{c.MaxCallsPerDay >= 0, "max-calls-per-day", "want a whole number, 0 or more (0: no cap)"},
		{c.MaxTextBytes >= 1024, "max-text-bytes", "want 1024 or more"},
		{c.RedisTimeout > 0, "redis-timeout", "want a positive duration such as 250ms"},
		{c.ReplicasHint >= 1, "replicas-hint", "want 1 or more"},
		{c.BudgetLocalAllowance >= 0, "budget-local-allowance", "want a whole number, 0 or more"},
	} {
		if !check.ok {
			return c.bad(check.flag, check.want)
		}
	}
	if c.RedisURL != "" {
		if err := redisstore.CheckURL(c.RedisURL); err != nil {
			// The value is shown without its password.
			e := c.bad("redis-url", strings.TrimPrefix(err.Error(), "redisstore: "))
			e.Value = redisstore.RedactURL(c.RedisURL)
			return e
		}
		if c.CacheFile != "" {
			// The guard would never open the file: Redis holds what it
			// would keep. Silently ignoring it would surprise whoever
			// counts on it after Redis loses its data.
			return c.bad("cache-file", "cannot be used with --redis-url: the cache, budget and cooldowns then live in Redis, shared by every replica")
		}
	}
	if c.BaseURL != "" && !c.Demo {
		// The qcc package owns the rule for a base URL; ask it.
		if _, err := qcc.New("app-key", "secret-key", qcc.WithBaseURL(c.BaseURL)); err != nil {
			return c.bad("base-url", strings.TrimPrefix(err.Error(), "qcc: "))
		}
	}
	if c.call {
		return nil
	}
	return c.loadHTTP(getenv)
}

// fromVariables fills each flag that has a variable and was not given.
func (c *Config) fromVariables(getenv func(string) string) error {
	vars := []struct {
		name, flag string
		set        func(string) bool
		want       string
	}{
		{"QCC_BASE_URL", "base-url", func(v string) bool { c.BaseURL = v; return true }, ""},
		{"QCC_TIMEOUT", "timeout", func(v string) bool {
			d, err := parseDuration(v)
			c.Timeout = d
			return err == nil
		}, "want a positive duration such as 15s or a number of seconds"},
		{"QCC_CACHE_TTL", "cache-ttl", func(v string) bool {
			d, err := parseDuration(v)
			c.CacheTTL = d
			return err == nil
		}, "want a duration such as 24h, or 0 to disable the cache"},
		// Ignored in demo mode, where a cache file is refused: a variable
		// set for real use must not stop a demo.
		{"QCC_CACHE_FILE", "cache-file", func(v string) bool {
			if !c.Demo {
				c.CacheFile = v
			}
			return true
		}, ""},
		{"QCC_REDIS_URL", "redis-url", func(v string) bool { c.RedisURL = v; return true }, ""},
		{"QCC_MAX_CALLS_PER_DAY", "max-calls-per-day", func(v string) bool {
			n, err := strconv.Atoi(v)
			c.MaxCallsPerDay = n
			return err == nil
		}, "want a whole number, 0 or more (0: no cap)"},
	}
	for _, v := range vars {
		value := strings.TrimSpace(getenv(v.name))
		if value == "" || c.given[v.flag] {
			continue
		}
		c.fromEnv[v.flag] = v.name + "=" + value
		if !v.set(value) {
			return &Error{Setting: v.name, Value: value, Want: v.want}
		}
	}
	return nil
}

// loadHTTP reads the bearer token and checks the HTTP settings.
func (c *Config) loadHTTP(getenv func(string) string) error {
	c.AuthToken = strings.TrimSpace(getenv("MCP_AUTH_TOKEN"))
	if c.AuthToken != "" {
		c.StaticTokens = auth.SingleToken(c.AuthToken)
	}
	if c.AuthTokenFile != "" {
		raw, err := os.ReadFile(c.AuthTokenFile)
		if err != nil {
			return &Error{Setting: "--auth-token-file", Value: c.AuthTokenFile, Want: fmt.Sprintf("want a readable file holding the token (%v)", err)}
		}
		if strings.TrimSpace(string(raw)) == "" {
			return &Error{Setting: "--auth-token-file", Value: c.AuthTokenFile, Want: "the file is empty; want a file holding the token"}
		}
		tokens, err := auth.ParseTokens(raw)
		if err != nil {
			return &Error{Setting: "--auth-token-file", Value: c.AuthTokenFile, Want: err.Error()}
		}
		c.StaticTokens, c.AuthToken = tokens, ""
		if names := tokens.Names(); len(names) == 1 && names[0] == auth.DefaultTokenName {
			c.AuthToken = strings.TrimSpace(string(raw))
		}
	}
	if err := c.checkOAuth(); err != nil {
		return err
	}
	authenticated := c.StaticTokens != nil || c.OAuthIssuer != ""
	if c.MaxCallsPerClient < 0 {
		return c.bad("max-calls-per-client-per-day", "want a whole number, 0 or more (0: no cap)")
	}
	if c.MaxCallsPerClient > 0 && (c.Transport == "stdio" || !authenticated) {
		return c.bad("max-calls-per-client-per-day", "counts authenticated callers: it needs --transport http with --auth-token-file, MCP_AUTH_TOKEN or --oauth-issuer (for one caller, use --max-calls-per-day)")
	}
	if c.MaxBodyBytes <= 0 {
		return c.bad("max-body-bytes", "want a positive number of bytes")
	}
	if c.Transport == "stdio" {
		return nil
	}
	if !authenticated && !loopback.Addr(c.Addr) {
		return c.bad("addr", "accepts connections from other machines: set a bearer token with --auth-token-file or MCP_AUTH_TOKEN, or --oauth-issuer, or listen on 127.0.0.1")
	}
	for _, check := range []struct {
		ok   bool
		flag string
		want string
	}{
		{c.BodyReadTimeout > 0, "body-read-timeout", "want a positive duration"},
		{c.MaxSSEStreams > 0, "max-sse-streams", "want 1 or more"},
		{c.MaxSessions > 0, "max-sessions", "want 1 or more"},
		{c.MaxConcurrentCalls >= 0, "max-concurrent-calls", "want 0 or more (0: no cap)"},
	} {
		if !check.ok {
			return c.bad(check.flag, check.want)
		}
	}
	return nil
}

// checkOAuth checks the OAuth settings together: an issuer needs the
// resource URL (the audience) and the other way round.
func (c *Config) checkOAuth() error {
	switch {
	case c.OAuthIssuer == "" && c.ResourceURL == "" && c.OAuthScope == "":
		return nil
	case c.OAuthIssuer == "" && c.ResourceURL != "":
		return c.bad("resource-url", "is the audience of OAuth access tokens: it needs --oauth-issuer")
	case c.OAuthIssuer == "":
		return c.bad("oauth-scope", "applies to OAuth access tokens: it needs --oauth-issuer")
	case c.ResourceURL == "":
		return c.bad("oauth-issuer", "needs --resource-url, this server's canonical MCP URL (e.g. https://mcp.example.com/mcp), which tokens must name as their audience")
	case strings.ContainsAny(c.OAuthScope, " \"\\"):
		return c.bad("oauth-scope", "want one scope, without spaces or quotes")
	}
	if _, err := auth.NewVerifier(c.oauthConfig(nil)); err != nil {
		flag := "oauth-issuer"
		if strings.HasPrefix(err.Error(), "resource") {
			flag = "resource-url"
		}
		return c.bad(flag, "want an absolute http(s) URL without a fragment")
	}
	return nil
}

func (c *Config) oauthConfig(log *slog.Logger) auth.OAuthConfig {
	return auth.OAuthConfig{Issuer: c.OAuthIssuer, Resource: c.ResourceURL, Scope: c.OAuthScope, Logger: log}
}

// Authenticator builds the HTTP front's authentication from the settings.
func (c *Config) Authenticator(log *slog.Logger) (*auth.Authenticator, error) {
	o := auth.Options{Static: c.StaticTokens, Logger: log}
	if c.OAuthIssuer != "" {
		v, err := auth.NewVerifier(c.oauthConfig(log))
		if err != nil {
			return nil, err
		}
		o.OAuth = v
	}
	return auth.New(o), nil
}

// bad names the setting behind a flag as the user wrote it: the variable
// when it came from one, else the flag with its value.
func (c *Config) bad(flagName, want string) *Error {
	if kv, ok := c.fromEnv[flagName]; ok {
		name, value, _ := strings.Cut(kv, "=")
		return &Error{Setting: name, Value: value, Want: want}
	}
	value := ""
	if f := c.fs.Lookup(flagName); f != nil {
		value = f.Value.String()
	}
	return &Error{Setting: "--" + flagName, Value: value, Want: want}
}

// parseDuration accepts Go durations ("15s") and plain seconds ("15").
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	return time.ParseDuration(v)
}

// Front maps the HTTP settings onto the HTTP front's options, with the
// metrics page (nil: none) and the logger.
func (c *Config) Front(metricsPage http.Handler, log *slog.Logger) httpfront.Options {
	// The settings were checked by Load: building cannot fail then.
	a, err := c.Authenticator(log)
	if err != nil {
		panic("config: Front before a successful Load: " + err.Error())
	}
	return httpfront.Options{Addr: c.Addr, AuthToken: c.AuthToken, Auth: a, AllowedOrigins: c.AllowedOrigins,
		MaxBodyBytes: c.MaxBodyBytes, BodyReadTimeout: c.BodyReadTimeout, MaxSSEStreams: c.MaxSSEStreams,
		SessionIdleTTL: c.SessionIdleTTL, MaxSessions: c.MaxSessions, ShutdownTimeout: c.ShutdownTimeout,
		Metrics: metricsPage, MetricsAddr: c.MetricsAddr, Demo: c.Demo, Logger: log}
}

// Guard maps the cost-control settings onto the guard's configuration,
// where a zero means "default" and guard.Off means "off".
func (c *Config) Guard(log *slog.Logger) guard.Config {
	off := func(d time.Duration) time.Duration {
		if d == 0 {
			return guard.Off
		}
		return d
	}
	g := guard.Config{
		CacheTTL:           off(c.CacheTTL),
		CacheMaxBytes:      c.CacheMaxBytes,
		CacheFile:          c.CacheFile,
		Rate:               c.Rate,
		Burst:              c.Burst,
		MaxRetries:         c.MaxRetries,
		CredentialCooldown: off(c.CredentialCooldown),
		MaxCallsPerDay:     c.MaxCallsPerDay,
		CallTimeout:        c.CallTimeout,
		Logger:             log,
		// Over stdio there are no authenticated callers: Load refuses the
		// cap there, and no call carries a caller to count.
		MaxCallsPerClientPerDay: c.MaxCallsPerClient,
		BudgetLocalAllowance:    c.BudgetLocalAllowance,
	}
	if g.Rate == 0 {
		g.Rate = guard.Off
	}
	if g.MaxRetries == 0 {
		g.MaxRetries = guard.Off
	}
	return g
}
