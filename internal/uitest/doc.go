// Package uitest holds the real-browser test of the MCP Apps view
// (tools/ui/certificates.html): headless Chromium, driven by playwright-core,
// opens a small host page (host/) that uses @modelcontextprotocol/ext-apps'
// host-side AppBridge to load the view from the real server in demo mode
// into a sandboxed iframe and hand it real tool results.
//
// It needs Debian's chromium and the npm packages pinned in
// npm-packages.txt, which .ci/run installs (into a cache folder, never the
// repository). Without them the test skips with one line, except when CI is
// set, where it fails. Screenshots land in artifacts/ (git-ignored), or in
// $QCC_UITEST_ARTIFACTS.
package uitest
