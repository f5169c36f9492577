// The TypeScript peer bench -compare measures qcc-mcp's cold start (and,
// for scale, its calls) against: a conventional MCP server on the official
// TypeScript SDK (v2, @modelcontextprotocol/server, pinned in
// npm-packages.txt), over stdio, written the way its documentation shows.
// It is not a product: it exists so that issue 12's "cold start at most
// 0.2× the TypeScript peer's" has a peer to be a ratio of.
//
//	QCC_APP_KEY=… QCC_SECRET_KEY=… node server.mjs --base-url http://127.0.0.1:PORT/api
//
// Its tools/list is qcc-mcp's own, read at start from tools.json next to
// this file (names, titles, descriptions, annotations, _meta, input and
// output schemas; bench's TestTSPeerToolsInStep keeps the copy in step
// with what qcc-mcp serves), registered through McpServer.registerTool with
// fromJsonSchema, so the SDK validates arguments and structured results
// against the same schemas as any TypeScript server would.
//
// It implements only what the bench calls: search_certifications makes
// the same signed GET as bench/bare (Token = upper(md5(key + Timespan +
// secret)), headers Token and Timespan, query key, searchKey,
// isExactlySame, pageSize) and returns the first page as structured
// content shaped by qcc-mcp's output schema, plus its JSON as text. The
// other two tools answer isError saying so.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { McpServer, fromJsonSchema } from "@modelcontextprotocol/server";
import { StdioServerTransport } from "@modelcontextprotocol/server/stdio";

const argv = process.argv.slice(2);
const at = argv.indexOf("--base-url");
if (at < 0 || !argv[at + 1]) {
  console.error("usage: node server.mjs --base-url URL (keys from QCC_APP_KEY, QCC_SECRET_KEY)");
  process.exit(2);
}
const base = argv[at + 1].replace(/\/+$/, "");
const key = process.env.QCC_APP_KEY ?? "";
const secret = process.env.QCC_SECRET_KEY ?? "";
const api = "ECICertification/SearchCertification";

const tools = JSON.parse(readFileSync(new URL("./tools.json", import.meta.url), "utf8"));

// A QCC date ("2025-01-02 00:00:00", or null) as YYYY-MM-DD, or null.
const dateOf = (s) => {
  const m = typeof s === "string" && /^(\d{4})-(\d{2})-(\d{2})/.exec(s.trim());
  return m && m[1] !== "0001" ? m[0] : null;
};
// Today in Beijing (UTC+8, no daylight saving), as YYYY-MM-DD.
const beijingToday = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);

async function search({ company, page_size, exact }) {
  const q = new URLSearchParams({ key, searchKey: company, isExactlySame: String(exact ?? true) });
  if (page_size > 0) q.set("pageSize", String(page_size));
  const ts = String(Math.floor(Date.now() / 1000));
  const token = createHash("md5").update(key + ts + secret).digest("hex").toUpperCase();
  const resp = await fetch(`${base}/${api}?${q}`, { headers: { Token: token, Timespan: ts } });
  const a = await resp.json();
  if (a.Status !== "200" && a.Status !== "201") {
    return { content: [{ type: "text", text: `QCC status ${a.Status}` }], isError: true };
  }
  const today = Date.parse(beijingToday());
  const items = (a.Result ?? []).map((c) => {
    const end = dateOf(c.EndDate);
    const days = end === null ? null : Math.round((Date.parse(end) - today) / 86400e3);
    return {
      id: c.Id ?? "",
      name: c.Name ?? "",
      type: c.Type ?? "",
      type_description: c.TypeDesc ?? "",
      number: c.No ?? "",
      start_date: dateOf(c.StartDate),
      end_date: end,
      status: days === null ? "unknown" : days >= 0 ? "valid" : "expired",
      days_until_expiry: days,
    };
  });
  const size = page_size ?? 10;
  const total = a.Paging?.TotalRecords ?? items.length;
  const out = {
    company: company.trim(),
    page: 1,
    page_size: size,
    total,
    has_more: total > size,
    certifications: items,
    filtered_out: 0,
    source: { api, order_number: a.OrderNumber || null, fetched_at: new Date().toISOString(), demo: false, cache: "miss" },
  };
  return { structuredContent: out, content: [{ type: "text", text: JSON.stringify(out) }] };
}

const notHere = (name) => async () => ({
  content: [{ type: "text", text: `the TypeScript peer implements only search_certifications, the tool bench calls, not ${name}` }],
  isError: true,
});

const server = new McpServer({ name: "qcc-mcp-tspeer", version: "1" });
for (const t of tools) {
  server.registerTool(
    t.name,
    {
      title: t.title,
      description: t.description,
      inputSchema: fromJsonSchema(t.inputSchema),
      outputSchema: t.outputSchema && fromJsonSchema(t.outputSchema),
      annotations: t.annotations,
      _meta: t._meta,
    },
    t.name === "search_certifications" ? search : notHere(t.name),
  );
}
await server.connect(new StdioServerTransport());
