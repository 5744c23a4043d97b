#!/usr/bin/env bash
# Set up (first run: Debian packages, Node.js 24, npm dependencies, native addon), then run the
# appliance in its embedded demo mode. Extra arguments go to `svde run` (e.g. --duration 30s, --json).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh"
source "$here/env.sh"
cd "$SVDE_ROOT"
exec node src/cli/main.ts run "$@"
