#!/usr/bin/env bash
# The whole test suite: set-up if needed, type check, native sanitizer tests + a bounded fuzz run,
# then every node:test file. Prints one closing line "tests: N passed, M failed".
# Usage: scripts/test.sh [--fuzz-seconds N] [node --test file filters...]
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh" || exit 1
source "$here/env.sh"
cd "$SVDE_ROOT"

fuzz_seconds="${SVDE_FUZZ_SECONDS:-60}"
if [ "${1:-}" = "--fuzz-seconds" ]; then fuzz_seconds="$2"; shift 2; fi

out="test-artifacts"; mkdir -p "$out"
passed=0; failed=0

echo "== type check"
if npx tsc --noEmit -p tsconfig.json; then passed=$((passed+1)); else failed=$((failed+1)); echo "type check FAILED"; fi

echo "== lint"
if npx eslint --max-warnings 0 .; then passed=$((passed+1)); else failed=$((failed+1)); echo "lint FAILED"; fi

echo "== format"
if npx prettier --check --log-level warn 'src/**/*.ts' 'test/**/*.ts' 'tools/**/*.ts' 'scripts/**/*.ts'; then passed=$((passed+1)); else failed=$((failed+1)); echo "format check FAILED (npm run format)"; fi

echo "== import layers"
if node scripts/check-layers.ts; then passed=$((passed+1)); else failed=$((failed+1)); echo "import-layer check FAILED"; fi

echo "== native decoder: sanitizer unit tests and fuzzing (${fuzz_seconds}s)"
bash "$here/native-check.sh" --fuzz-seconds "$fuzz_seconds" 2>&1 | tee "$out/native-check.log"
native_rc=${PIPESTATUS[0]}
line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/native-check.log" | tail -n 1)"
np="$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')"; nf="$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')"
passed=$((passed + ${np:-0})); failed=$((failed + ${nf:-0}))
if [ "$native_rc" != 0 ]; then failed=$((failed+1)); echo "native check FAILED (exit $native_rc)"; fi

echo "== node tests"
if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$out/node-tests.tap" "${files[@]}"
node_rc=$?
tp="$(grep -E '^# pass ' "$out/node-tests.tap" | tail -n 1 | awk '{print $3}')"
tf="$(grep -E '^# fail ' "$out/node-tests.tap" | tail -n 1 | awk '{print $3}')"
passed=$((passed + ${tp:-0})); failed=$((failed + ${tf:-0}))
if [ "$node_rc" != 0 ] && [ "${tf:-0}" = 0 ]; then failed=$((failed+1)); echo "node test runner FAILED (exit $node_rc)"; fi

echo "tests: $passed passed, $failed failed"
[ "$failed" = 0 ]
