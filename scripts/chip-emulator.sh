#!/usr/bin/env bash
# Runs the SM2 chip emulator behind a socat pseudo-terminal pair and prints the host end's path; the
# appliance (or `SVDE_CHIP_PORT=<path> node --test test/crypto/chip/conformance.test.ts`) opens that path as
# it would open the real chip's serial device. Ctrl-C / SIGTERM stops both processes and removes the links.
#   scripts/chip-emulator.sh [--dir DIR] [emulator options, e.g. --baud 921600 --wrong-rate 0.01]
# Emulator options: node tools/chip/emulator-main.ts --help. The device key is kept in DIR/device-key.hex
# (mode 0600; created on first start), DIR defaults to a fresh temporary directory.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
DIR=""
if [ "${1:-}" = "--dir" ]; then DIR="$2"; shift 2; fi
if [ -z "$DIR" ]; then DIR="$(mktemp -d -t svde-chip.XXXXXX)"; CLEAN_DIR=1; else mkdir -p "$DIR"; CLEAN_DIR=0; fi
HOST="$DIR/host"; CHIP="$DIR/chip"
SOCAT_PID=""; EMU_PID=""
cleanup() {
  [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null || true
  [ -n "$SOCAT_PID" ] && kill "$SOCAT_PID" 2>/dev/null && wait "$SOCAT_PID" 2>/dev/null || true
  rm -f "$HOST" "$CHIP"
  if [ "$CLEAN_DIR" = 1 ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
socat -d -d "pty,raw,echo=0,link=$HOST" "pty,raw,echo=0,link=$CHIP" 2>"$DIR/socat.log" &
SOCAT_PID=$!
for _ in $(seq 100); do [ -e "$HOST" ] && [ -e "$CHIP" ] && break; sleep 0.05; done
[ -e "$HOST" ] || { echo "socat did not create the pty pair" >&2; cat "$DIR/socat.log" >&2; exit 1; }
node "$ROOT/tools/chip/emulator-main.ts" --port "$CHIP" --key-file "$DIR/device-key.hex" "$@" >&2 &
EMU_PID=$!
echo "$HOST"
wait "$EMU_PID"
