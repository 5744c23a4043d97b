#!/usr/bin/env bash
# Native decoder checks: strict-warning builds (g++ and clang++), unit tests under ASan+UBSan,
# tshark cross-checks (crafted cases' verdicts, every frame of the shared captures), libFuzzer run.
#
#   scripts/native-check.sh [--fuzz-seconds N] [--bench FILE]...
#
# --fuzz-seconds N  fuzz for N seconds (default 60; 0 skips fuzzing)
# --bench FILE      also build the -O2 benchmark and run it on FILE (repeatable)
# Env: SVDE_CAPTURES (default <repo>/../shared/captures), SVDE_SKIP_TSHARK=1 to skip tshark checks.
# Build outputs go to out/native-check/ (gitignored; outside build/, which node-gyp rebuild deletes).
# Exits non-zero on any failure.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CAPTURES="${SVDE_CAPTURES:-$REPO/../shared/captures}"
OUT="$REPO/out/native-check"
FUZZ_SECONDS=60
BENCH_FILES=()

while [ $# -gt 0 ]; do
  case "$1" in
    --fuzz-seconds) FUZZ_SECONDS="${2:?--fuzz-seconds needs a number}"; shift 2 ;;
    --bench) BENCH_FILES+=("${2:?--bench needs a pcap file}"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "native-check: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$FUZZ_SECONDS" in ''|*[!0-9]*) echo "native-check: --fuzz-seconds wants a whole number" >&2; exit 2 ;; esac
[ -d "$CAPTURES" ] || { echo "native-check: captures dir not found: $CAPTURES (set SVDE_CAPTURES)" >&2; exit 2; }
CAPTURES="$(cd "$CAPTURES" && pwd)"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
step() { printf '\n== %s\n' "$*"; }
out() { mkdir -p "$OUT"; }

SRC="$REPO/native/sv_decode.cc"
TEST="$REPO/native/test/test_sv_decode.cc"
FUZZ="$REPO/native/fuzz/fuzz_sv_decode.cc"
BENCH="$REPO/native/bench/bench_decode.cc"
STRICT=(-std=c++17 -Wall -Wextra -Werror -Wshadow -Wconversion -Wno-sign-conversion)

step "strict warnings: g++ and clang++"
for cxx in g++ clang++; do
  for f in "$SRC" "$TEST" "$BENCH" "$FUZZ"; do
    "$cxx" "${STRICT[@]}" -O2 -fsyntax-only "$f"
  done
  echo "$cxx: clean"
done

step "unit tests (clang++ -fsanitize=address,undefined)"
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1)
out
clang++ -std=c++17 "${SAN[@]}" "$SRC" "$TEST" -lpcap -o "$OUT/test_sv_decode"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$OUT/test_sv_decode" "$CAPTURES"

if [ "${SVDE_SKIP_TSHARK:-0}" != 1 ]; then
  command -v tshark >/dev/null || { echo "native-check: tshark not found (SVDE_SKIP_TSHARK=1 to skip)" >&2; exit 1; }
  step "tshark verdicts on the crafted cases (native/test/README.md)"
  "$OUT/test_sv_decode" --write-cases "$TMP/cases.pcap" > "$TMP/cases.tsv"
  tshark -n -r "$TMP/cases.pcap" -T fields -E occurrence=a -E aggregator=, -e frame.number -e _ws.malformed \
    -e _ws.expert.severity -e sv.appid -e sv.noASDU 2>/dev/null > "$TMP/tshark.tsv"
  # Verdict: malformed (_ws.malformed), error (expert severity Error = 0x800000), not-sv, no-apdu, ok.
  awk -F'\t' '
    NR == FNR {
      v = "ok"
      if ($2 != "") v = "malformed"; else if ($3 ~ /8388608/) v = "error"; else if ($4 == "") v = "not-sv";
      else if ($5 == "") v = "no-apdu"
      t[$1] = v; next
    }
    { n++ }
    $3 != "-" && t[$1] != $3 { bad++; printf "MISMATCH case \"%s\": tshark says %s, expected %s\n", $2, t[$1], $3 }
    $2 ~ /^prefix / && t[$1] == "ok" && $4 == "ok" { bad++; printf "prefix decoded by both: %s\n", $2 }
    END { printf "%d cases, %d verdict mismatches\n", n, bad; exit bad > 0 }
  ' "$TMP/tshark.tsv" "$TMP/cases.tsv"

  step "every SV frame of the shared captures: SVDE fields == tshark fields"
  while IFS= read -r -d '' f; do
    tshark -n -r "$f" -Y sv -T fields -E occurrence=a -E aggregator=, -e frame.number -e eth.src -e eth.dst \
      -e vlan.id -e vlan.priority -e sv.appid -e sv.length -e sv.reserve1 -e sv.reserve2 -e sv.noASDU \
      -e sv.svID -e sv.datSet -e sv.smpCnt -e sv.confRev -e sv.smpSynch -e sv.smpRate -e sv.smpMod \
      -e sv.seqData 2>/dev/null > "$TMP/tshark-fields.tsv"
    "$OUT/test_sv_decode" --dump "$f" > "$TMP/svde-fields.tsv"
    if ! diff -q "$TMP/tshark-fields.tsv" "$TMP/svde-fields.tsv" >/dev/null; then
      echo "DIFFERENT: ${f#"$CAPTURES"/}"; diff "$TMP/tshark-fields.tsv" "$TMP/svde-fields.tsv" | head -20; exit 1
    fi
    echo "identical: ${f#"$CAPTURES"/} ($(wc -l < "$TMP/svde-fields.tsv") SV frames)"
  done < <(find "$CAPTURES" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)
fi

if [ "$FUZZ_SECONDS" -gt 0 ]; then
  step "libFuzzer (-fsanitize=fuzzer,address,undefined) for ${FUZZ_SECONDS}s"
  out
  clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all "$SRC" "$FUZZ" \
    -o "$OUT/fuzz_sv_decode"
  mkdir -p "$TMP/seeds" "$TMP/corpus" "$OUT/fuzz-artifacts"
  mapfile -d '' CAPS < <(find "$CAPTURES" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)
  "$OUT/test_sv_decode" --seeds "${CAPS[@]}" "$TMP/seeds"
  # The corpus lives in the temp dir: it derives from third-party captures and is never kept.
  "$OUT/fuzz_sv_decode" "$TMP/corpus" "$TMP/seeds" -max_len=1600 -max_total_time="$FUZZ_SECONDS" \
    -print_final_stats=1 -artifact_prefix="$OUT/fuzz-artifacts/" 2>&1 | grep -v '^#[0-9]*\s*\(NEW\|REDUCE\|pulse\)' || {
    echo "native-check: the fuzzer failed; reproducer in $OUT/fuzz-artifacts/" >&2; exit 1; }
fi

if [ ${#BENCH_FILES[@]} -gt 0 ]; then
  step "benchmark (-O2)"
  out
  clang++ -std=c++17 -O2 -DNDEBUG "$SRC" "$BENCH" -lpcap -o "$OUT/bench_decode"
  for f in "${BENCH_FILES[@]}"; do "$OUT/bench_decode" "$f"; done
fi

step "native-check: all passed"
