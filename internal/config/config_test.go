package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

var creds = []string{"QCC_APP_KEY", "app-key-1234", "QCC_SECRET_KEY", "secret-key-5678-abcdef"}

// load parses args as the server does and loads vars.
func load(args []string, vars func(string) string) (*Config, error) {
	c, fs := NewServer(io.Discard)
	if err := c.Parse(fs, args); err != nil {
		return nil, err
	}
	return c, c.Load(vars)
}

// TestEachErrorNamesTheOneBadSetting: each bad setting gives exactly that
// setting as written (the variable or the flag), its value and what is
// allowed, and nothing about the other settings.
func TestEachErrorNamesTheOneBadSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		vars []string
		want string
	}{
		{[]string{"--demo"}, []string{"QCC_MAX_CALLS_PER_DAY", "-3"}, `QCC_MAX_CALLS_PER_DAY="-3": want a whole number, 0 or more (0: no cap)`},
		{[]string{"--demo"}, []string{"QCC_MAX_CALLS_PER_DAY", "many"}, `QCC_MAX_CALLS_PER_DAY="many": want a whole number, 0 or more (0: no cap)`},
		{[]string{"--demo", "--max-calls-per-day", "-3"}, nil, `--max-calls-per-day -3: want a whole number, 0 or more (0: no cap)`},
		{[]string{"--demo"}, []string{"QCC_TIMEOUT", "soon"}, `QCC_TIMEOUT="soon": want a positive duration such as 15s or a number of seconds`},
		{[]string{"--demo"}, []string{"QCC_TIMEOUT", "0"}, `QCC_TIMEOUT="0": want a positive duration such as 15s or a number of seconds`},
		{[]string{"--demo", "--timeout", "-1s"}, nil, `--timeout -1s: want a positive duration`},
		{[]string{"--demo"}, []string{"QCC_CACHE_TTL", "-1h"}, `QCC_CACHE_TTL="-1h": want a duration of 0 or more`},
		{[]string{"--demo", "--burst", "0"}, nil, `--burst 0: want 1 or more`},
		{[]string{"--demo", "--call-timeout", "0s"}, nil, `--call-timeout 0s: want a positive duration such as 30s`},
		{[]string{"--demo", "--rate", "-1"}, nil, `--rate -1: want requests per second`},
		{[]string{"--demo", "--max-retries", "-1"}, nil, `--max-retries -1: want 0 or more`},
		{[]string{"--demo", "--credential-cooldown", "-1s"}, nil, `--credential-cooldown -1s: want a duration of 0 or more`},
		{[]string{"--demo", "--cache-max-bytes", "0"}, nil, `--cache-max-bytes 0: want a positive number of bytes`},
		{[]string{"--demo", "--max-text-bytes", "100"}, nil, `--max-text-bytes 100: want 1024 or more`},
		{[]string{"--demo", "--transport", "carrier-pigeon"}, nil, `--transport carrier-pigeon: want stdio or http`},
		{nil, append([]string{"QCC_BASE_URL", "ftp://x"}, creds...), `QCC_BASE_URL="ftp://x": the base URL must start with http:// or https://`},
		{[]string{"--base-url", "not a url"}, creds, `--base-url not a url: the base URL`},
		{[]string{"--demo", "--transport", "http", "--max-sse-streams", "0"}, nil, `--max-sse-streams 0: want 1 or more`},
		{[]string{"--demo", "--transport", "http", "--max-sessions", "0"}, nil, `--max-sessions 0: want 1 or more`},
		{[]string{"--demo", "--transport", "http", "--max-body-bytes", "0"}, nil, `--max-body-bytes 0: want a positive number of bytes`},
		{[]string{"--demo", "--max-body-bytes", "0"}, nil, `--max-body-bytes 0: want a positive number of bytes`},
		{[]string{"--demo", "--transport", "http", "--max-concurrent-calls", "-1"}, nil, `--max-concurrent-calls -1: want 0 or more`},
		{[]string{"--demo", "--transport", "http", "--addr", "0.0.0.0:8080"}, nil, `--addr 0.0.0.0:8080: accepts connections from other machines`},
		{[]string{"--demo", "--cache-file", "x.db"}, nil, `--cache-file x.db: cannot be used with --demo`},
	} {
		_, err := load(tc.args, env(tc.vars...))
		if err == nil {
			t.Errorf("%v %v: accepted", tc.args, tc.vars)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) || strings.Count(err.Error(), "--") > 3 || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v %v:\n got %q\nwant %q…", tc.args, tc.vars, err, tc.want)
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%v %v: %T, want a *config.Error", tc.args, tc.vars, err)
		}
	}
}

// A secret key too short to be QCC's is refused at start-up, naming the
// variable and the length, never the value; 16 characters pass.
func TestShortSecretKeyIsRefused(t *testing.T) {
	for _, secret := range []string{"t", "secret-key-5678", "  0123456789abcde  "} {
		_, err := load(nil, env("QCC_APP_KEY", "app-key-1234", "QCC_SECRET_KEY", secret))
		if err == nil || !strings.Contains(err.Error(), "QCC_SECRET_KEY has ") || !strings.Contains(err.Error(), "at least 16") {
			t.Errorf("secret of %d characters: %v, want a refusal naming QCC_SECRET_KEY", len(secret), err)
			continue
		}
		if len(secret) > 3 && strings.Contains(err.Error(), strings.TrimSpace(secret)) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	if _, err := load(nil, env("QCC_APP_KEY", "app-key-1234", "QCC_SECRET_KEY", "0123456789abcdef")); err != nil {
		t.Errorf("a 16-character secret: %v", err)
	}
	if _, err := load([]string{"--demo"}, env("QCC_SECRET_KEY", "t")); err != nil {
		t.Errorf("--demo uses the sandbox's keys, whatever is set: %v", err)
	}
}

func TestMissingCredentialsNameBothAndDemo(t *testing.T) {
	_, err := load(nil, env())
	if err == nil {
		t.Fatal("accepted without credentials")
	}
	for _, want := range []string{"QCC_APP_KEY", "QCC_SECRET_KEY", "--demo"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
}

// TestSecretKeyIsNotAFlag: no flag of the server or of call can carry a
// secret; --secret-key is refused by the flag parser itself, as a flag
// that does not exist (not later, for some other reason).
func TestSecretKeyIsNotAFlag(t *testing.T) {
	server, sfs := NewServer(io.Discard)
	call, cfs := NewCall(io.Discard)
	for name, tc := range map[string]struct {
		c  *Config
		fs *flag.FlagSet
	}{"server": {server, sfs}, "call": {call, cfs}} {
		tc.fs.VisitAll(func(f *flag.Flag) {
			if n := strings.ToLower(f.Name); strings.Contains(n, "secret") || n == "auth-token" || n == "token" || n == "app-key" {
				t.Errorf("%s has a flag --%s: secrets come from the environment only", name, f.Name)
			}
		})
		var stderr bytes.Buffer
		tc.fs.SetOutput(&stderr)
		err := tc.c.Parse(tc.fs, []string{"--secret-key", "x", "--demo"})
		if err == nil || !strings.Contains(err.Error(), "flag provided but not defined: -secret-key") {
			t.Errorf("%s: --secret-key gives %v, want the flag refused as undefined", name, err)
		}
	}
}

func TestFlagsWinOverVariables(t *testing.T) {
	vars := env("QCC_TIMEOUT", "9", "QCC_BASE_URL", "https://api.qichacha.com", "QCC_CACHE_TTL", "1h", "QCC_MAX_CALLS_PER_DAY", "50")
	for _, tc := range []struct {
		args    []string
		timeout time.Duration
		base    string
		ttl     time.Duration
		budget  int
	}{
		{[]string{"--demo"}, 9 * time.Second, "https://api.qichacha.com", time.Hour, 50},
		{[]string{"--demo", "--timeout", "3s", "--base-url", "https://pro.qcc.com/api/yj", "--cache-ttl", "0", "--max-calls-per-day", "7"},
			3 * time.Second, "https://pro.qcc.com/api/yj", 0, 7},
	} {
		c, err := load(tc.args, vars)
		if err != nil {
			t.Fatal(err)
		}
		if c.Timeout != tc.timeout || c.BaseURL != tc.base || c.CacheTTL != tc.ttl || c.MaxCallsPerDay != tc.budget {
			t.Errorf("%v: timeout %v base %q ttl %v budget %d", tc.args, c.Timeout, c.BaseURL, c.CacheTTL, c.MaxCallsPerDay)
		}
	}
}

func TestNonLoopbackWithoutTokenIsRefused(t *testing.T) {
	for addr, wantOK := range map[string]bool{
		"0.0.0.0:8080": false, ":8080": false, "192.0.2.1:8080": false,
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true,
	} {
		args := []string{"--demo", "--transport", "http", "--addr", addr}
		_, err := load(args, env())
		if (err == nil) != wantOK {
			t.Errorf("%s without token: err %v, want ok=%v", addr, err, wantOK)
		}
		if err != nil && !strings.Contains(err.Error(), "MCP_AUTH_TOKEN") {
			t.Errorf("%s: message %q does not say how to set a token", addr, err)
		}
		if _, err := load(args, env("MCP_AUTH_TOKEN", "a-token")); err != nil {
			t.Errorf("%s with token: %v", addr, err)
		}
	}
}

func TestAuthTokenFile(t *testing.T) {
	dir := t.TempDir()
	full, empty := filepath.Join(dir, "token"), filepath.Join(dir, "empty")
	os.WriteFile(full, []byte("  file-token \n"), 0o600)
	os.WriteFile(empty, []byte("\n"), 0o600)
	c, err := load([]string{"--demo", "--transport", "http", "--auth-token-file", full}, env("MCP_AUTH_TOKEN", "variable-token"))
	if err != nil || c.AuthToken != "file-token" {
		t.Errorf("token from the file: %q, %v", c.AuthToken, err)
	}
	for _, file := range []string{empty, filepath.Join(dir, "missing")} {
		if _, err := load([]string{"--demo", "--transport", "http", "--auth-token-file", file}, env()); err == nil || !strings.HasPrefix(err.Error(), "--auth-token-file "+file+":") {
			t.Errorf("%s: %v", file, err)
		}
	}
}

// TestDemoNeverTouchesTheCacheFile: the variable is ignored in demo mode
// (set for real use, it must not stop a demo) and the flag is refused.
func TestDemoNeverTouchesTheCacheFile(t *testing.T) {
	c, err := load([]string{"--demo"}, env("QCC_CACHE_FILE", "cache.db"))
	if err != nil || c.CacheFile != "" {
		t.Errorf("--demo with QCC_CACHE_FILE: cache file %q, %v", c.CacheFile, err)
	}
	call, fs := NewCall(io.Discard)
	if err := call.Parse(fs, []string{"--demo"}); err != nil {
		t.Fatal(err)
	}
	if err := call.Load(env("QCC_CACHE_FILE", "cache.db")); err != nil || call.CacheFile != "" {
		t.Errorf("call --demo with QCC_CACHE_FILE: cache file %q, %v", call.CacheFile, err)
	}
	c, err = load(nil, env(append([]string{"QCC_CACHE_FILE", "cache.db"}, creds...)...))
	if err != nil || c.CacheFile != "cache.db" {
		t.Errorf("QCC_CACHE_FILE without --demo: cache file %q, %v", c.CacheFile, err)
	}
}

// TestCallHasOnlyItsFlags: call takes the QCC, cost and logging settings,
// none of the server's.
func TestCallHasOnlyItsFlags(t *testing.T) {
	_, fs := NewCall(io.Discard)
	for _, name := range []string{"demo", "log-level", "base-url", "timeout", "cache-file", "rate", "max-calls-per-day", "max-text-bytes"} {
		if fs.Lookup(name) == nil {
			t.Errorf("call lacks --%s", name)
		}
	}
	for _, name := range []string{"transport", "addr", "auth-token-file", "allowed-origins", "max-sse-streams", "metrics-addr", "shutdown-timeout", "version"} {
		if fs.Lookup(name) != nil {
			t.Errorf("call has the server flag --%s", name)
		}
	}
}

func TestServerHelpNamesCallAndVariables(t *testing.T) {
	var out bytes.Buffer
	c, fs := NewServer(&out)
	if err := c.Parse(fs, []string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"qcc-mcp call", "QCC_APP_KEY", "QCC_SECRET_KEY", "QCC_MAX_CALLS_PER_DAY", "MCP_AUTH_TOKEN", "NO_COLOR", "-transport"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRedisSettings: without --redis-url nothing is shared; the URL comes
// from the flag or QCC_REDIS_URL, the password from QCC_REDIS_PASSWORD; a
// bad URL is refused naming the setting, never showing its password.
func TestRedisSettings(t *testing.T) {
	c, err := load([]string{"--demo"}, env())
	if err != nil || c.RedisURL != "" || c.RedisTimeout != 250*time.Millisecond || c.ReplicasHint != 1 || c.BudgetLocalAllowance != 0 {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	c, err = load([]string{"--demo", "--replicas-hint", "3", "--budget-local-allowance", "5"},
		env("QCC_REDIS_URL", "rediss://app@redis.internal:6380/2", "QCC_REDIS_PASSWORD", "pw-from-env"))
	if err != nil || c.RedisURL != "rediss://app@redis.internal:6380/2" || c.RedisPassword != "pw-from-env" ||
		c.ReplicasHint != 3 || c.Guard(nil).BudgetLocalAllowance != 5 {
		t.Fatalf("from the environment: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		vars []string
		want string
	}{
		{[]string{"--demo", "--redis-url", "http://user:hunter2secret@h:1/0"}, nil, `--redis-url http://user:xxxxx@h:1/0: the Redis URL's scheme is "http"; want redis or rediss`},
		{[]string{"--demo"}, []string{"QCC_REDIS_URL", "redis://:hunter2secret@/0"}, `QCC_REDIS_URL="redis://:xxxxx@/0": the Redis URL names no host`},
		{[]string{"--demo", "--redis-url", "redis://:hunter2secret@h:1/notadb"}, nil, `--redis-url redis://:xxxxx@h:1/notadb: the Redis URL`},
		{[]string{"--demo", "--redis-timeout", "0s"}, nil, `--redis-timeout 0s: want a positive duration`},
		{[]string{"--demo", "--replicas-hint", "0"}, nil, `--replicas-hint 0: want 1 or more`},
		{[]string{"--demo", "--budget-local-allowance", "-1"}, nil, `--budget-local-allowance -1: want a whole number, 0 or more`},
		{[]string{"--redis-url", "redis://h:1/0", "--cache-file", "/tmp/qcc.db"}, []string{"QCC_APP_KEY", "k", "QCC_SECRET_KEY", "0123456789abcdef"},
			`--cache-file /tmp/qcc.db: cannot be used with --redis-url`},
		{nil, []string{"QCC_APP_KEY", "k", "QCC_SECRET_KEY", "0123456789abcdef", "QCC_REDIS_URL", "redis://h:1/0", "QCC_CACHE_FILE", "/tmp/qcc.db"},
			`QCC_CACHE_FILE="/tmp/qcc.db": cannot be used with --redis-url`},
	} {
		_, err := load(tc.args, env(tc.vars...))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want %q", tc.args, tc.vars, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2secret") {
			t.Errorf("%v: the error shows the password: %v", tc.args, err)
		}
	}
}

func TestOAuthAndPerCallerSettings(t *testing.T) {
	dir := t.TempDir()
	named := filepath.Join(dir, "named")
	os.WriteFile(named, []byte("alice tok-a\nbob tok-b\n"), 0o600)
	httpArgs := func(extra ...string) []string { return append([]string{"--demo", "--transport", "http"}, extra...) }
	c, err := load(httpArgs("--addr", "0.0.0.0:8080", "--auth-token-file", named, "--max-calls-per-client-per-day", "5"), env())
	if err != nil || c.AuthToken != "" || c.StaticTokens == nil || c.Guard(nil).MaxCallsPerClientPerDay != 5 {
		t.Fatalf("named tokens: %v %+v", err, c)
	}
	if names := c.StaticTokens.Names(); strings.Join(names, ",") != "alice,bob" {
		t.Fatalf("names %v", names)
	}
	// OAuth alone is authentication enough for a public address.
	if _, err := load(httpArgs("--addr", "0.0.0.0:8080", "--oauth-issuer", "https://sso.example.com/realms/x",
		"--resource-url", "https://mcp.example.com/mcp", "--oauth-scope", "qcc"), env()); err != nil {
		t.Fatalf("oauth: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{httpArgs("--oauth-issuer", "https://sso.example.com"), "--oauth-issuer https://sso.example.com: needs --resource-url"},
		{httpArgs("--resource-url", "https://mcp.example.com/mcp"), "--resource-url https://mcp.example.com/mcp: is the audience"},
		{httpArgs("--oauth-scope", "qcc"), "--oauth-scope qcc: applies to OAuth"},
		{httpArgs("--oauth-issuer", "sso.example.com", "--resource-url", "https://mcp.example.com/mcp"), "--oauth-issuer sso.example.com: want an absolute"},
		{httpArgs("--oauth-issuer", "https://sso.example.com", "--resource-url", "/mcp"), "--resource-url /mcp: want an absolute"},
		{httpArgs("--max-calls-per-client-per-day", "3"), "--max-calls-per-client-per-day 3: counts authenticated callers"},
		{[]string{"--demo", "--max-calls-per-client-per-day", "3"}, "--max-calls-per-client-per-day 3: counts authenticated callers"},
		{httpArgs("--max-calls-per-client-per-day", "-1"), "--max-calls-per-client-per-day -1: want a whole number"},
	} {
		_, err := load(c.args, env())
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("alice tok-a\nlonely-token\n"), 0o600)
	if _, err := load(httpArgs("--auth-token-file", bad), env()); err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), "lonely-token") {
		t.Errorf("bad token file: %v", err)
	}
}
