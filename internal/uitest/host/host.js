// The test host. The Go test drives it from Playwright through window.host.
import { AppBridge, PostMessageTransport, Client, StreamableHTTPClientTransport } from "/bridge.js";

const log = (window.hostLog = { calls: [], sizes: [], initialized: 0, notes: [] });
const status = (s) => { document.getElementById("host-status").textContent = s; };

// A host that supports the extension says so when it connects.
const client = new Client(
  { name: "qcc-mcp-uitest-host", version: "1" },
  { capabilities: { extensions: { "io.modelcontextprotocol/ui": { mimeTypes: ["text/html;profile=mcp-app"] } } } });
await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.href)));
const { tools } = await client.listTools();
const { resources } = await client.listResources();
window.hostTools = tools.map((t) => ({ name: t.name, resourceUri: t._meta && t._meta.ui && t._meta.ui.resourceUri }));
window.hostResources = resources.map((r) => ({ uri: r.uri, mimeType: r.mimeType }));

// The CSP the extension tells a host to build from the resource's
// _meta.ui.csp (here every list is empty: the restrictive default).
function cspFor(meta) {
  const csp = (meta && meta.ui && meta.ui.csp) || {};
  const res = (csp.resourceDomains || []).join(" ");
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline' ${res}`,
    `style-src 'unsafe-inline' ${res}`,
    `img-src data: ${res}`,
    `font-src ${res || "'none'"}`,
    `media-src data: ${res}`,
    `connect-src ${(csp.connectDomains || []).join(" ") || "'none'"}`,
    `frame-src ${(csp.frameDomains || []).join(" ") || "'none'"}`,
    "object-src 'none'",
    `base-uri ${(csp.baseUriDomains || []).join(" ") || "'none'"}`,
  ].join("; ");
}

let current = null; // { bridge, iframe, context }

// show calls a tool and renders the view for its result. spec: { tool,
// arguments, theme, width }.
async function show(spec) {
  if (current) {
    await current.bridge.teardownResource({ reason: "next result" }).catch(() => {});
    await current.bridge.close();
    current.iframe.remove();
    current = null;
  }
  const uri = (window.hostTools.find((t) => t.name === spec.tool) || {}).resourceUri;
  if (!uri) throw new Error(spec.tool + " names no view");
  const read = await client.readResource({ uri });
  const content = read.contents[0];
  if (content.mimeType !== "text/html;profile=mcp-app") throw new Error("view MIME type " + content.mimeType);
  const html = content.text.replace(/<head>/i, `<head><meta http-equiv="Content-Security-Policy" content="${cspFor(content._meta)}">`);

  const iframe = document.createElement("iframe");
  iframe.id = "view";
  iframe.title = "Certificate view";
  // Scripts only: the view gets an opaque origin, apart from the host's.
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.style.width = spec.width + "px";
  const context = {
    theme: spec.theme || "light", displayMode: "inline", availableDisplayModes: ["inline"],
    containerDimensions: { maxWidth: spec.width, maxHeight: 4000 },
    locale: "en-US", timeZone: "Asia/Shanghai", platform: "web",
  };
  document.body.classList.toggle("dark", context.theme === "dark");
  // No client is handed to the bridge: this host proxies tools/call itself,
  // so that it can log every call the view makes.
  const bridge = new AppBridge(null, { name: "qcc-mcp-uitest-host", version: "1" },
    { serverTools: {}, serverResources: {}, logging: {} }, { hostContext: { ...context } });
  bridge.oncalltool = async (params) => {
    log.calls.push(params);
    return client.callTool(params);
  };
  bridge.onreadresource = async (params) => client.readResource(params);
  bridge.onsizechange = ({ width, height }) => {
    log.sizes.push({ width, height });
    if (height != null) iframe.style.height = height + "px";
  };
  const ready = new Promise((resolve) => { bridge.oninitialized = resolve; });

  const result = client.callTool({ name: spec.tool, arguments: spec.arguments });

  iframe.srcdoc = html;
  document.getElementById("frame-box").append(iframe);
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  await ready;
  log.initialized++;
  await bridge.sendToolInput({ arguments: spec.arguments });
  await bridge.sendToolResult(await result);
  current = { bridge, iframe, context };
  status("showing " + spec.tool);
}

function update(change) {
  Object.assign(current.context, change);
  if (change.containerDimensions) current.iframe.style.width = change.containerDimensions.maxWidth + "px";
  if (change.theme) document.body.classList.toggle("dark", change.theme === "dark");
  current.bridge.setHostContext({ ...current.context });
}

window.host = {
  show,
  setTheme: (theme) => update({ theme }),
  setWidth: (w) => update({ containerDimensions: { maxWidth: w, maxHeight: 4000 } }),
};
status("ready");
window.hostReady = true;
