#!/bin/sh
# Starts the qcc-mcp binary for this machine from inside the MCP Bundle.
# A bundle manifest can choose the command per OS but not per CPU, and some
# hosts unpack bundles without the executable bit. So the host runs this
# script through /bin/sh (no bit needed on it), and the script picks the
# binary for the CPU and gives it back its bit before handing over.
set -eu
dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
case $(uname -s) in
Linux) os=linux ;;
Darwin) os=darwin ;;
*) echo "qcc-mcp: this bundle has no binary for $(uname -s)" >&2; exit 1 ;;
esac
case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) echo "qcc-mcp: this bundle has no binary for the $(uname -m) CPU" >&2; exit 1 ;;
esac
bin="$dir/qcc-mcp-$os-$arch"
if [ ! -x "$bin" ]; then
	chmod +x "$bin" || { echo "qcc-mcp: $bin is not executable and chmod failed" >&2; exit 1; }
fi
exec "$bin" "$@"
