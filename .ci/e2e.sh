#!/usr/bin/env bash
# End-to-end check of the built binary in --demo mode with the official MCP
# Inspector CLI, over stdio, streamable HTTP (/mcp) and SSE (/sse).
# Usage: .ci/e2e.sh [path-to-inspector]   (installs the pinned one if absent)
# Prints one line per check and "N passed, N failed"; exits 1 on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

INSPECTOR_VERSION=2.12.0
work=$(mktemp -d)
server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

inspector=${1:-}
if [ -z "$inspector" ]; then
	dir=${QCC_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qcc-mcp-ci}/inspector-$INSPECTOR_VERSION
	inspector="$dir/node_modules/.bin/mcp-inspector"
	if [ ! -x "$inspector" ]; then
		echo "installing @modelcontextprotocol/inspector@$INSPECTOR_VERSION into $dir"
		npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
			"@modelcontextprotocol/inspector@$INSPECTOR_VERSION" >/dev/null || { echo "npm install failed"; exit 1; }
	fi
fi

go build -o "$work/qcc-mcp" . || { echo "build failed"; exit 1; }
bin="$work/qcc-mcp"
export HOME="$work/home" && mkdir -p "$HOME"

passed=0 failed=0
# check NAME EXPECTED_RC JS_ASSERTION -- inspector args...
# The JS assertion sees the parsed stdout JSON as `r` (null if none) and the
# stderr JSON as `e`; it must evaluate to true.
check() {
	local name=$1 want_rc=$2 assertion=$3
	shift 4
	local out="$work/out" err="$work/err" rc
	timeout 90 "$inspector" --cli --format json -q "$@" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		echo "FAIL $name: exit $rc, want $want_rc"; sed 's/^/    /' "$err" | head -5; failed=$((failed + 1)); return
	fi
	if node -e '
		const fs = require("fs");
		const parse = f => { const s = fs.readFileSync(f, "utf8").trim(); if (!s) return null; try { return JSON.parse(s.split("\n").pop()); } catch { return null; } };
		const r = parse(process.argv[1]), e = parse(process.argv[2]);
		const res = r && r.result;
		const text = res && res.content ? res.content.map(c => c.text || "").join("\n") : "";
		if (!(eval(process.argv[3]))) { console.error("assertion failed:", process.argv[3]); console.error(JSON.stringify(r || e).slice(0, 600)); process.exit(1); }
	' "$out" "$err" "$assertion"; then
		echo "ok   $name"; passed=$((passed + 1))
	else
		echo "FAIL $name"; failed=$((failed + 1))
	fi
}

run_suite() {
	local label=$1
	shift
	check "$label tools/list" 0 \
		'res.tools.length === 3 && res.tools.every(t => t.outputSchema && t.title && t.annotations.readOnlyHint === true)' \
		-- --method tools/list "$@"
	check "$label search" 0 \
		'res.structuredContent.total > 20 && res.structuredContent.certifications.length === 20 && res.structuredContent.source.demo === true && /page=2/.test(text)' \
		-- --method tools/call --tool-name search_certifications --tool-args-json '{"company":"苏州云帆智能制造股份有限公司","page_size":20}' "$@"
	check "$label search with null dates" 0 \
		'res.structuredContent.certifications.some(c => c.end_date === null && c.status === "unknown")' \
		-- --method tools/call --tool-name search_certifications --tool-arg "company=$NULL_DATE_COMPANY" --tool-arg page_size=20 "$@"
	check "$label detail" 0 \
		'res.structuredContent.certificate.number === "17418Q20358R1M" && res.structuredContent.certificate.holder === "企查查科技有限公司" && Object.keys(res.structuredContent.fields).length > 5' \
		-- --method tools/call --tool-name get_certification_detail --tool-arg "cert_id=$DOC_CERT_ID" "$@"
	check "$label argument error" 5 \
		'res.isError === true && /"page_size" must be at most 20, got 50/.test(text) && /Nothing was sent to QCC/.test(text) && e.error.code === "tool_is_error"' \
		-- --method tools/call --tool-name search_certifications --tool-args-json '{"company":"企查查科技有限公司","page_size":50}' "$@"
	check "$label resources/list" 0 \
		'["qcc://status-codes","qcc://usage"].every(u => res.resources.some(r => r.uri === u && r.description))' \
		-- --method resources/list "$@"
	check "$label resources/read status codes" 0 \
		'(() => { const t = JSON.parse(res.contents[0].text); return t.length >= 35 && t.some(c => c.code === 110 && c.kind === "throttled" && c.retryable) && t.some(c => c.code === 102 && c.operator_must_act); })()' \
		-- --method resources/read --uri qcc://status-codes "$@"
	check "$label resources/read usage" 0 \
		'typeof JSON.parse(res.contents[0].text).upstream_calls === "number"' \
		-- --method resources/read --uri qcc://usage "$@"
	check "$label prompts/get due diligence" 0 \
		'res.messages[0].content.text.includes("企查查科技有限公司") && res.messages[0].content.text.includes("search_certifications")' \
		-- --method prompts/get --prompt-name certification_due_diligence --prompt-args company=企查查科技有限公司 "$@"
	check "$label whole list with status filter" 0 \
		'res.structuredContent.source.pages === 2 && res.structuredContent.certifications.every(c => c.status === "valid") && res.structuredContent.filtered_out > 0' \
		-- --method tools/call --tool-name search_certifications --tool-args-json '{"company":"苏州云帆智能制造股份有限公司","max_results":200,"status":"valid"}' "$@"
	check "$label check_certifications" 0 \
		'(() => { const s = res.structuredContent, v = {}; s.companies.forEach(c => v[c.company] = c.verdict); return s.companies.length === 3 && v["企查查科技有限公司"] === "expired" && ["valid","expiring"].includes(v["苏州云帆智能制造股份有限公司"]) && v["北京星河启明商贸有限公司"] === "none_found" && s.matched_types[0] === "质量管理体系认证（ISO9000）" && s.source.demo === true; })()' \
		-- --method tools/call --tool-name check_certifications --tool-args-json '{"companies":["企查查科技有限公司","苏州云帆智能制造股份有限公司","北京星河启明商贸有限公司"],"standard":"ISO 9001"}' "$@"
	check "$label resources/templates/list" 0 \
		'res.resourceTemplates.some(t => t.uriTemplate === "qcc://certificates/{cert_id}" && t.title)' \
		-- --method resources/templates/list "$@"
	check "$label resources/read certificate template" 0 \
		'JSON.parse(res.contents[0].text).certificate.number === "17418Q20358R1M"' \
		-- --method resources/read --uri "qcc://certificates/$DOC_CERT_ID" "$@"
	# The Inspector CLI (2.12.0) has no one-shot completion/complete; it
	# checks the capability here, and tools/discovery_test.go the answers.
	check "$label initialize declares completions" 0 \
		'res.capabilities && res.capabilities.completions !== undefined' \
		-- --method initialize "$@"
	check "$label upstream error (QCC status 102)" 5 \
		'res.isError === true && /QCC status 102/.test(text) && /operator/.test(text) && e.error.code === "tool_is_error"' \
		-- --method tools/call --tool-name search_certifications --tool-arg company=sandbox-status-102 "$@"
}

# Sample data of the sandbox (see qcc/sandbox): the vendor document's own
# certificate and a company whose list has certificates without end dates.
DOC_CERT_ID=145695151793ad28f7ffd5d8a24cd6191
NULL_DATE_COMPANY=${NULL_DATE_COMPANY:-华信创（北京）检测技术有限公司}

run_suite stdio -- "$bin" --demo

port_of() { sed -n 's/.*addr=[^ ]*:\([0-9]*\).*/\1/p' "$1" | head -1; }
"$bin" --demo --transport http --addr 127.0.0.1:0 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 50); do port=$(port_of "$work/server.log"); [ -n "$port" ] && break; sleep 0.1; done
if [ -z "${port:-}" ]; then
	echo "FAIL http server did not start"; cat "$work/server.log"; failed=$((failed + 1))
else
	run_suite http --transport http --server-url "http://127.0.0.1:$port/mcp"
	run_suite sse --transport sse --server-url "http://127.0.0.1:$port/sse"
fi

# A shared instance with a bearer token: the Inspector gets in with the
# header and is turned away without it.
token=e2e-token-$RANDOM$RANDOM
kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
MCP_AUTH_TOKEN=$token "$bin" --demo --transport http --addr 127.0.0.1:0 2>"$work/server.log" &
server_pid=$!
port=""
for _ in $(seq 50); do port=$(port_of "$work/server.log"); [ -n "$port" ] && break; sleep 0.1; done
if [ -z "$port" ]; then
	echo "FAIL authenticated http server did not start"; cat "$work/server.log"; failed=$((failed + 1))
else
	check "http with bearer token: search" 0 \
		'res.structuredContent.total === 5' \
		-- --method tools/call --tool-name search_certifications --tool-arg company=企查查科技有限公司 \
		--transport http --server-url "http://127.0.0.1:$port/mcp" --header "Authorization: Bearer $token"
	check "http without bearer token is refused" 3 \
		'e.error.code === "auth_required"' \
		-- --method tools/list --transport http --server-url "http://127.0.0.1:$port/mcp"
	if grep -q "$token" "$work/server.log"; then
		echo "FAIL the bearer token appears in the server log"; failed=$((failed + 1))
	else
		echo "ok   bearer token absent from the server log"; passed=$((passed + 1))
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
