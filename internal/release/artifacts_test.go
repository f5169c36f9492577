package release

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// root is the checkout; tests run in internal/release.
const root = "../.."

// stampedBinary is the server built once, with the release's own build
// flags and version 1.2.3, for every test that asks the binary what it
// accepts.
var stampedBinary string

const stampedVersion = "1.2.3"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "release-test")
	if err != nil {
		panic(err)
	}
	stampedBinary = filepath.Join(dir, "qcc-mcp")
	args, err := releaseBuildArgs(stampedVersion)
	if err == nil {
		cmd := exec.Command("go", append(append([]string{"build"}, args...), "-o", stampedBinary, ".")...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		var out []byte
		if out, err = cmd.CombinedOutput(); err != nil {
			err = fmt.Errorf("%v\n%s", err, out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the server with the release flags:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func readRoot(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goBuildLine finds the flags of the `go build` line in a build script:
// what lies between "go build" and "-o".
var goBuildLine = regexp.MustCompile(`(?m)^.*\bCGO_ENABLED=0\b.*\bgo build (.+?) -o `)

func buildFlags(t testing.TB, name string) string {
	t.Helper()
	m := goBuildLine.FindAllSubmatch(readRoot(t, name), -1)
	if len(m) != 1 {
		t.Fatalf("%s: %d lines with CGO_ENABLED=0 … go build … -o, want one", name, len(m))
	}
	return string(m[0][1])
}

// releaseBuildArgs turns .ci/release's go build flags into arguments, with
// ${VERSION} filled in.
func releaseBuildArgs(version string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, ".ci/release"))
	if err != nil {
		return nil, err
	}
	m := goBuildLine.FindSubmatch(b)
	if m == nil {
		return nil, fmt.Errorf(".ci/release has no CGO_ENABLED=0 … go build … -o line")
	}
	flags := strings.ReplaceAll(string(m[1]), "${VERSION}", version)
	// The only quoting on the line is -ldflags="…".
	var args []string
	for rest := flags; rest != ""; {
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, `-ldflags="`) {
			end := strings.Index(rest[len(`-ldflags="`):], `"`)
			if end < 0 {
				return nil, fmt.Errorf("unclosed -ldflags quote in %q", flags)
			}
			args = append(args, "-ldflags="+rest[len(`-ldflags="`):len(`-ldflags="`)+end])
			rest = rest[len(`-ldflags="`)+end+1:]
			continue
		}
		f, after, _ := strings.Cut(rest, " ")
		args = append(args, f)
		rest = after
	}
	return args, nil
}

// serverJSON is the part of the registry's format the tests read.
type serverJSON struct {
	Name        string
	Description string
	Version     string
	Repository  struct{ URL, Source string }
	Packages    []struct {
		RegistryType, Identifier, Version, FileSha256 string
		Transport                                     struct{ Type string }
		EnvironmentVariables                          []struct {
			Name     string
			IsSecret bool
		}
		PackageArguments []struct{ Type, Name string }
	}
}

func readServerJSON(t testing.TB) serverJSON {
	var s serverJSON
	if err := json.Unmarshal(readRoot(t, "server.json"), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// manifest is the part of the bundle manifest the tests read.
type manifest struct {
	Server struct {
		Type       string
		EntryPoint string `json:"entry_point"`
		MCPConfig  struct {
			Command           string
			Args              []string
			Env               map[string]string
			PlatformOverrides map[string]struct {
				Command string
				Args    []string
			} `json:"platform_overrides"`
		} `json:"mcp_config"`
	}
	Tools         []struct{ Name string }
	Compatibility struct{ Platforms []string }
	UserConfig    map[string]struct {
		Type      string
		Sensitive bool
	} `json:"user_config"`
}

func readManifest(t testing.TB) manifest {
	var m manifest
	if err := json.Unmarshal(readRoot(t, "packaging/manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// accepted is what the binary says it accepts: the flags of --help, and the
// variables named by --help and by its refusal to start without keys.
func accepted(t *testing.T) (flags map[string]bool, env map[string]bool) {
	t.Helper()
	var help bytes.Buffer
	cmd := exec.Command(stampedBinary, "--help")
	cmd.Stdout, cmd.Stderr = &help, &help
	if err := cmd.Run(); err != nil {
		t.Fatalf("--help: %v\n%s", err, help.String())
	}
	flags = map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9][a-z0-9-]*)\b`).FindAllStringSubmatch(help.String(), -1) {
		flags[m[1]] = true
	}
	var refusal bytes.Buffer
	cmd = exec.Command(stampedBinary)
	cmd.Env = []string{}
	cmd.Stderr = &refusal
	if err := cmd.Run(); err == nil {
		t.Fatal("the server started without keys")
	}
	env = map[string]bool{}
	for _, v := range regexp.MustCompile(`\b(?:QCC|MCP)_[A-Z0-9_]+\b`).FindAllString(help.String()+refusal.String(), -1) {
		env[v] = true
	}
	if len(flags) < 10 || !env["QCC_APP_KEY"] || !env["QCC_SECRET_KEY"] {
		t.Fatalf("could not read the binary's flags and variables: flags %v, env %v", flags, env)
	}
	return flags, env
}

// httpOnly are variables that mean nothing to a stdio package.
var httpOnly = map[string]bool{"MCP_AUTH_TOKEN": true}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestServerJSONInStepWithBinary: every variable and flag server.json and
// the bundle manifest name is one the binary accepts, and the bundle's
// package lists every variable a stdio user can set. A new variable in
// --help fails this test until server.json describes it.
func TestServerJSONInStepWithBinary(t *testing.T) {
	t.Parallel()
	flags, env := accepted(t)
	s := readServerJSON(t)
	for _, p := range s.Packages {
		listed := map[string]bool{}
		for _, v := range p.EnvironmentVariables {
			if !env[v.Name] {
				t.Errorf("server.json %s package: %s is not a variable the binary reads (it reads %v)", p.RegistryType, v.Name, keys(env))
			}
			listed[v.Name] = true
		}
		for _, a := range p.PackageArguments {
			if a.Type == "named" && !flags[strings.TrimLeft(a.Name, "-")] {
				t.Errorf("server.json %s package: flag %s is not in --help", p.RegistryType, a.Name)
			}
		}
		if p.RegistryType != "mcpb" {
			continue
		}
		for v := range env {
			if !listed[v] && !httpOnly[v] {
				t.Errorf("server.json mcpb package does not list %s, which the binary reads", v)
			}
		}
	}
	m := readManifest(t)
	for v := range m.Server.MCPConfig.Env {
		if !env[v] {
			t.Errorf("manifest env %s is not a variable the binary reads", v)
		}
	}
	args := slices.Clone(m.Server.MCPConfig.Args)
	for _, o := range m.Server.MCPConfig.PlatformOverrides {
		args = append(args, o.Args...)
	}
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			if !flags[name] {
				t.Errorf("manifest argument %s: no such flag in --help", a)
			}
		}
	}
}

// TestServerJSONRegistryFacts checks server.json, as written and as the
// release fills it, against the registry's published schema (from the
// registry's own Go module, pinned) and the rules the schema cannot say.
func TestServerJSONRegistryFacts(t *testing.T) {
	t.Parallel()
	s := readServerJSON(t)
	mod := regexp.MustCompile(`(?m)^module github\.com/([^/\s]+)/([^/\s]+)$`).FindSubmatch(readRoot(t, "go.mod"))
	if mod == nil {
		t.Fatal("go.mod: module path is not github.com/OWNER/NAME")
	}
	if want := "io.github." + string(mod[1]) + "/" + string(mod[2]); s.Name != want {
		t.Errorf("name %q, want %q from the module path", s.Name, want)
	}
	if want := "https://github.com/" + string(mod[1]) + "/" + string(mod[2]); Repository != want || s.Repository.URL != want {
		t.Errorf("repository %q, release.Repository %q, want %q", s.Repository.URL, Repository, want)
	}
	if n := len([]rune(s.Description)); n == 0 || n > 100 {
		t.Errorf("description is %d characters, want 1 to 100", n)
	}
	types := map[string]bool{}
	for _, p := range s.Packages {
		types[p.RegistryType] = true
		if p.Transport.Type != "stdio" {
			t.Errorf("%s package transport %q, want stdio", p.RegistryType, p.Transport.Type)
		}
		secret := map[string]bool{}
		for _, v := range p.EnvironmentVariables {
			secret[v.Name] = v.IsSecret
		}
		if !secret["QCC_SECRET_KEY"] || secret["QCC_APP_KEY"] {
			t.Errorf("%s package: QCC_SECRET_KEY must be the secret (isSecret %v), QCC_APP_KEY not (%v)", p.RegistryType, secret["QCC_SECRET_KEY"], secret["QCC_APP_KEY"])
		}
	}
	if !types["mcpb"] || !types["oci"] {
		t.Errorf("package types %v, want mcpb and oci", keys(types))
	}

	schema := registrySchema(t)
	filled, err := ServerJSON(readRoot(t, "server.json"), "1.2.3", strings.Repeat("0f", 32))
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string][]byte{"server.json": readRoot(t, "server.json"), "the released server.json": filled} {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("%s against the registry schema: %#v", name, err)
		}
	}
}

// registryModule pins the registry release whose embedded schema
// server.json is checked against; its $schema URL names the same date.
const registryModule = "github.com/modelcontextprotocol/registry@v1.8.9"

func registrySchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	var s struct {
		Schema string `json:"$schema"`
	}
	json.Unmarshal(readRoot(t, "server.json"), &s)
	date := regexp.MustCompile(`/schemas/([0-9-]+)/server\.schema\.json$`).FindStringSubmatch(s.Schema)
	if date == nil {
		t.Fatalf("$schema %q is not a dated registry schema", s.Schema)
	}
	cmd := exec.Command("go", "mod", "download", "-json", registryModule)
	cmd.Dir = t.TempDir() // outside our module: go.mod stays as it is
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", registryModule, err)
	}
	var dl struct{ Dir string }
	json.Unmarshal(out, &dl)
	raw, err := os.ReadFile(filepath.Join(dl.Dir, "internal/validators/schemas", date[1]+".json"))
	if err != nil {
		t.Fatalf("%s has no schema for %s: %v", registryModule, date[1], err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("server.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("server.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestManifestInStepWithServer: the bundle manifest lists the tools the
// server offers, maps its settings to what the binary reads, and starts
// the files the bundle holds.
func TestManifestInStepWithServer(t *testing.T) {
	t.Parallel()
	m := readManifest(t)
	if m.Server.Type != "binary" {
		t.Errorf("server.type %q, want binary", m.Server.Type)
	}
	if got := slices.Sorted(slices.Values(m.Compatibility.Platforms)); !slices.Equal(got, []string{"darwin", "linux", "win32"}) {
		t.Errorf("platforms %v", got)
	}
	// The entry points must be files the bundle holds.
	inBundle := map[string]bool{"server/launch.sh": true}
	for _, p := range BundlePlatforms {
		inBundle["server/"+BinaryName(p)] = true
	}
	paths := []string{m.Server.EntryPoint, m.Server.MCPConfig.Command}
	paths = append(paths, m.Server.MCPConfig.Args...)
	for _, o := range m.Server.MCPConfig.PlatformOverrides {
		paths = append(paths, o.Command)
		paths = append(paths, o.Args...)
	}
	for _, p := range paths {
		if rel, ok := strings.CutPrefix(p, "${__dirname}/"); ok && !inBundle[rel] {
			t.Errorf("manifest names %s, which the bundle does not hold", p)
		} else if !ok && p == m.Server.EntryPoint && !inBundle[p] {
			t.Errorf("entry_point %s is not in the bundle", p)
		}
	}
	if _, ok := m.Server.MCPConfig.PlatformOverrides["win32"]; !ok {
		t.Error("no win32 override: /bin/sh does not exist there")
	}
	wantEnv := map[string]string{"QCC_APP_KEY": "app_key", "QCC_SECRET_KEY": "secret_key"}
	for v, key := range wantEnv {
		if got := m.Server.MCPConfig.Env[v]; got != "${user_config."+key+"}" {
			t.Errorf("env %s = %q, want ${user_config.%s}", v, got, key)
		}
	}
	if !m.UserConfig["secret_key"].Sensitive || m.UserConfig["app_key"].Sensitive {
		t.Error("secret_key must be sensitive, app_key not")
	}
	if m.UserConfig["demo"].Type != "boolean" || !slices.Contains(m.Server.MCPConfig.Args, "--demo=${user_config.demo}") {
		t.Error("the demo switch must be a boolean passed as --demo=…")
	}

	c, err := client.NewStdioMCPClient(stampedBinary, []string{"NO_COLOR=1"}, "--demo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = mcp.ProtocolVersion20250618
	req.Params.ClientInfo = mcp.Implementation{Name: "release-test", Version: "1"}
	init, err := c.Initialize(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if init.ServerInfo.Version != stampedVersion {
		t.Errorf("serverInfo.version %q, want the stamped %q", init.ServerInfo.Version, stampedVersion)
	}
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var served, listed []string
	for _, tool := range list.Tools {
		served = append(served, tool.Name)
	}
	for _, tool := range m.Tools {
		listed = append(listed, tool.Name)
	}
	slices.Sort(served)
	slices.Sort(listed)
	if !slices.Equal(served, listed) {
		t.Errorf("manifest tools %v, server offers %v", listed, served)
	}
}

// TestDockerfileFacts checks what can be checked without docker: the build
// line is the release's, the base is minimal, the user is not root, the
// label names the registry entry and the default is stdio.
func TestDockerfileFacts(t *testing.T) {
	t.Parallel()
	df := string(readRoot(t, "Dockerfile"))
	if got, want := buildFlags(t, "Dockerfile"), buildFlags(t, ".ci/release"); got != want {
		t.Errorf("Dockerfile builds with\n  %s\n.ci/release with\n  %s", got, want)
	}
	var from, users, entry, cmd []string
	var label string
	for _, line := range strings.Split(df, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			from = append(from, f[1])
		case "USER":
			users = append(users, f[1])
		case "ENTRYPOINT":
			entry = append(entry, strings.Join(f[1:], " "))
		case "CMD":
			cmd = append(cmd, strings.Join(f[1:], " "))
		case "LABEL":
			if m := regexp.MustCompile(`io\.modelcontextprotocol\.server\.name="([^"]+)"`).FindStringSubmatch(line); m != nil {
				label = m[1]
			}
		}
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(readRoot(t, "go.mod"))
	if len(from) < 2 || from[0] != "golang:"+string(goVersion[1]) {
		t.Errorf("FROM %v: want a golang:%s build stage first, then the runtime stage", from, goVersion[1])
	}
	if last := from[len(from)-1]; !strings.HasPrefix(last, "gcr.io/distroless/static") && last != "scratch" {
		t.Errorf("runtime base %s: want distroless static or scratch", last)
	}
	if len(users) == 0 {
		t.Fatal("no USER: the image would run as root")
	}
	if u, _, _ := strings.Cut(users[len(users)-1], ":"); u == "0" || u == "root" || u == "" {
		t.Errorf("USER %s is root", users[len(users)-1])
	}
	if s := readServerJSON(t); label != s.Name {
		t.Errorf("LABEL io.modelcontextprotocol.server.name=%q, server.json name %q", label, s.Name)
	}
	if len(entry) != 1 || !strings.HasPrefix(entry[0], `["`) || strings.Contains(entry[0], "--transport") {
		t.Errorf("ENTRYPOINT %v: want one exec-form entry point without --transport (stdio by default)", entry)
	}
	for _, c := range cmd {
		if strings.Contains(c, "--transport") {
			t.Errorf("CMD %s changes the default transport", c)
		}
	}
	ignore := string(readRoot(t, ".dockerignore"))
	if slices.Contains(strings.Fields(ignore), ".git") && !strings.Contains(buildFlags(t, "Dockerfile"), "-buildvcs=false") {
		t.Error(".git is not in the build context, so the build must say -buildvcs=false")
	}
	for _, s := range []string{"CGO_ENABLED=0", "-trimpath", "-buildid=", "internal/version.Version=${VERSION}"} {
		if !strings.Contains(df, s) {
			t.Errorf("Dockerfile build lacks %s", s)
		}
	}
}

// TestVersionOfAStampedBuild: the -X path in the release flags names the
// real variable (a wrong path links silently and prints the fallback).
func TestVersionOfAStampedBuild(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(stampedBinary, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "qcc-mcp "+stampedVersion {
		t.Errorf("--version = %q, want %q", got, "qcc-mcp "+stampedVersion)
	}
}

// TestVersionOfACheckoutBuild builds from a git checkout with VCS stamping
// on, as a developer's `go build` does: --version must name the commit, and
// say +dirty once a tracked file changed.
func TestVersionOfACheckoutBuild(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid", "GOFLAGS=", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	// A copy of this work tree (not the history): the test checks the
	// code as it is, committed or not.
	ls := exec.Command("git", "ls-files", "-co", "--exclude-standard", "-z")
	ls.Dir = root
	list, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(root, name))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("git", "init", "-q")
	run("git", "add", "-A")
	run("git", "commit", "-q", "-m", "snapshot")
	rev := run("git", "rev-parse", "HEAD")[:12]

	version := func() string {
		run("go", "build", "-buildvcs=true", "-o", "qcc-mcp-test", ".")
		return run("./qcc-mcp-test", "--version")
	}
	got := version()
	if !strings.Contains(got, rev) || strings.Contains(got, "dirty") || got == "qcc-mcp dev" {
		t.Errorf("clean checkout: --version = %q, want it to name %s", got, rev)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := version(); !strings.Contains(got, rev) || !strings.Contains(got, "+dirty") {
		t.Errorf("changed checkout: --version = %q, want %s and +dirty", got, rev)
	}
}

// TestLauncherRestoresTheExecutableBit runs the bundle's launcher the way
// the manifest does, on a tree unpacked without executable bits.
func TestLauncherRestoresTheExecutableBit(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("the launcher is for macOS and Linux")
	}
	dir := filepath.Join(t.TempDir(), "server")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(stampedBinary)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, BinaryName(Platform{runtime.GOOS, runtime.GOARCH}))
	if err := os.WriteFile(target, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "launch.sh"), readRoot(t, "packaging/launch.sh"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/bin/sh", filepath.Join(dir, "launch.sh"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("launcher: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "qcc-mcp "+stampedVersion {
		t.Errorf("launcher ran %q, want the binary's --version", got)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("binary not executable after the launcher ran: %v %v", fi.Mode(), err)
	}
}
