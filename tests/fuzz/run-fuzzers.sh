#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs each libFuzzer target of a -Dfuzzing=true build for a while.
#
#   tests/fuzz/run-fuzzers.sh BUILD_DIR [SECONDS_PER_TARGET]
#
# Each target gets a fresh corpus in a temporary directory, seeded from
# tests/fixtures: whole captures for the parser, single event data lines for
# the decoders. Prints how many inputs each target ran. Exits non-zero if any
# target crashed, leaked or timed out; the input that did it is copied to
# BUILD_DIR/fuzz-artifacts/.
set -eu

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [SECONDS_PER_TARGET]" >&2
  exit 2
fi

build=$(cd "$1" && pwd)
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$here/../fixtures
targets="fuzz-sse-parser fuzz-openai-decoder fuzz-anthropic-decoder fuzz-markdown"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Parser inputs start with three bytes of split point and line limit.
seed_parser () {
  n=0
  for f in "$fixtures"/*.sse; do
    n=$((n + 1))
    { printf '\001\000\000'; cat "$f"; } > "$1/fixture-$n"
  done
}

# Decoder inputs start with one byte choosing the event name (0: "message").
# The first 30 and last 10 data lines of each capture are enough to show the
# fuzzer every shape of event.
seed_decoder () {
  n=0
  for f in "$fixtures"/*.sse; do
    n=$((n + 1))
    grep -a '^data:' "$f" | tr -d '\r' | sed 's/^data: \{0,1\}//' > "$tmp/lines"
    { head -n 30 "$tmp/lines"; tail -n 10 "$tmp/lines"; } |
      awk -v dir="$1" -v n="$n" '{ f = dir "/event-" n "-" NR; printf "%c%s", 0, $0 > f; close(f) }'
  done
}

# Markdown inputs are documents: the Markdown fixtures and the replies the
# captures hold.
seed_markdown () {
  n=0
  for f in "$fixtures"/markdown/*.md "$fixtures"/*.expected; do
    [ -s "$f" ] || continue
    n=$((n + 1))
    head -c 65536 "$f" > "$1/doc-$n"
  done
}

status=0
for target in $targets; do
  exe=$build/tests/fuzz/$target
  if [ ! -x "$exe" ]; then
    echo "$target: not built ($exe missing; configure with -Dfuzzing=true)" >&2
    exit 2
  fi

  corpus=$tmp/$target-corpus
  mkdir -p "$corpus"
  case $target in
    fuzz-sse-parser) seed_parser "$corpus" ;;
    fuzz-markdown) seed_markdown "$corpus" ;;
    *) seed_decoder "$corpus" ;;
  esac

  log=$tmp/$target.log
  if "$exe" -max_total_time="$seconds" -max_len=65536 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$tmp/$target-" "$corpus" > "$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "$target: $result, ${execs:-?} executions in ${seconds} s, corpus $(ls "$corpus" | wc -l) inputs"

  if [ "$result" = FAILED ]; then
    mkdir -p "$build/fuzz-artifacts"
    for a in "$tmp/$target-"*; do
      [ -f "$a" ] || continue
      cp "$a" "$build/fuzz-artifacts/"
      echo "  input kept: $build/fuzz-artifacts/$(basename "$a")"
    done
    tail -n 40 "$log" | sed 's/^/  /'
  fi
done

exit $status
