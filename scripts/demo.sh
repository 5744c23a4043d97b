#!/usr/bin/env bash
# Set up (first run: Debian packages, Node.js 24, npm dependencies, native addon), then run the
# appliance in its embedded demo (tools/demo/main.ts). Extra arguments go to the demo (e.g. --duration 30s, --json).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh"
source "$here/env.sh"
cd "$SVDE_ROOT"
exec node tools/demo/main.ts "$@"
