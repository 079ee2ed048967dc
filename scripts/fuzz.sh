#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan, the
# libraries under test instrumented too) into build-fuzz, and runs each one
# for a bounded time. Exits non-zero when a target crashes, leaks, hangs
# (-timeout), runs out of memory or breaks one of its invariants; the input
# that did it is saved under build-fuzz/artifacts/<target>/ and the command
# to reproduce it is printed.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  per target (default 30)
#   TARGET   policy_file, credentials, limiter, value_codec (default: all)
#
# Targets run $(nproc) at a time. Each starts from its seed corpus
# (tests/fuzz/corpus/<target>, never written to) plus what earlier runs
# found (build-fuzz/corpus/<target>).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=build-fuzz

SECONDS_EACH=${1:-30}
shift || true
if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || ((SECONDS_EACH < 1)); then
  echo "fuzz: SECONDS must be a positive integer, got '$SECONDS_EACH'" >&2
  exit 2
fi
TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then
  TARGETS=(policy_file credentials limiter value_codec audit_codec)
fi

CXX=${FUZZ_CXX:-clang++}
if ! command -v "$CXX" >/dev/null; then
  echo "fuzz: $CXX not found (scripts/install-deps.sh installs clang)" >&2
  exit 2
fi

say() { echo "fuzz: $*" >&2; }

flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all"
flags+=" -fno-omit-frame-pointer"
say "configuring $BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DGATEHOUSE_FUZZ=ON \
  -DGATEHOUSE_TEST_DIRS=fuzz >/dev/null
build_targets=()
for t in "${TARGETS[@]}"; do build_targets+=("fuzz_$t"); done
say "building ${build_targets[*]}"
cmake --build "$BUILD" -j"$(nproc)" --target "${build_targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# Runs one target; its output goes to $BUILD/logs/<target>.log.
run_target() {
  local t=$1
  local bin="$ROOT/$BUILD/tests/fuzz/fuzz_$t"
  local work="$ROOT/$BUILD/corpus/$t"
  local artifacts="$ROOT/$BUILD/artifacts/$t/"
  mkdir -p "$work" "$artifacts"
  local args=(
    -max_total_time="$SECONDS_EACH"
    # yaml-cpp slows down on long inputs; no finding needs more than this.
    -max_len=4096
    -timeout=10
    -rss_limit_mb=2048
    -print_final_stats=1
    -artifact_prefix="$artifacts"
  )
  if [[ -f "tests/fuzz/$t.dict" ]]; then args+=(-dict="$ROOT/tests/fuzz/$t.dict"); fi
  "$bin" "${args[@]}" "$work" "$ROOT/tests/fuzz/corpus/$t" \
    >"$ROOT/$BUILD/logs/$t.log" 2>&1
}

rm -rf "$BUILD/logs" && mkdir -p "$BUILD/logs"
say "running ${TARGETS[*]} for ${SECONDS_EACH}s each"
declare -A pids
failed=()
running=0
for t in "${TARGETS[@]}"; do
  if ((running >= $(nproc))); then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  pids[$t]=$!
  running=$((running + 1))
done
for t in "${TARGETS[@]}"; do
  if ! wait "${pids[$t]}"; then failed+=("$t"); fi
done

for t in "${TARGETS[@]}"; do
  log="$BUILD/logs/$t.log"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  final=$(sed -n -E 's/^#[0-9]+[[:space:]]+DONE[[:space:]]+//p' "$log" | tail -1)
  say "$t: ${runs:-?} runs; ${final:-no final stats}"
done
if ((${#failed[@]} > 0)); then
  for t in "${failed[@]}"; do
    log="$BUILD/logs/$t.log"
    say "$t FAILED; last lines of $log:"
    tail -n 60 "$log" >&2
    for a in "$BUILD/artifacts/$t"/*; do
      [[ -e "$a" ]] || continue
      say "reproduce: $BUILD/tests/fuzz/fuzz_$t $a"
    done
  done
  exit 1
fi
say "no crash in ${#TARGETS[@]} targets"
