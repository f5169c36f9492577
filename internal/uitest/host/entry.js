// The parts of the official packages the test host uses, bundled by the Go
// test with esbuild into one browser module (bridge.js): the MCP Apps
// host-side bridge and the MCP client that talks to the real server.
export { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";
export { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
