#!/usr/bin/env bash
# Builds pfld's libFuzzer targets with clang (address + undefined-behaviour sanitizers), replays every
# committed regression input, then fuzzes each target for a while from its seeds.
#
#   tests/fuzz/run.sh                      every target, 30 s each
#   tests/fuzz/run.sh --seconds 600 onnx   one target, 10 minutes
#   tests/fuzz/run.sh --replay             only build and replay seeds and regressions (no fuzzing)
#   tests/fuzz/run.sh --no-build ...       use the targets built before (e.g. two runs side by side)
#
# A crash, hang (-timeout), leak, sanitizer report or allocation over 2 GB (-malloc_limit_mb) fails the
# script; libFuzzer writes the input to build/fuzz/artifacts/. Commit a minimal copy of it (libFuzzer's
# -minimize_crash=1 makes one) to tests/fuzz/regressions/<target>/ with the fix.
# Inputs the fuzzer finds interesting go to build/fuzz/corpus/<target>/, not into the repository.
# FUZZ_SEED=N fixes libFuzzer's random seed (the test command sets 1, so that CI repeats itself).
# Needs clang++ with libFuzzer (Debian: clang, libclang-rt-14-dev). Override with CLANGXX=...
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${BUILD_ROOT:-$root/build}/fuzz
seconds=30
replay_only=false
build=true
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --replay) replay_only=true; shift ;;
    --no-build) build=false; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(pts wflw model_file checkpoint onnx onnx_to_pfld cascade image ranges)
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
  [ -f "$here/fuzz_$t.cpp" ] || { echo "run.sh: no target '$t' (targets: ${all[*]})" >&2; exit 2; }
done

cxx=${CLANGXX:-clang++}
# stb_image.ignorelist: the one known stb_image bug that no guard can see, left out of UBSan (see the file).
flags=(-std=c++17 -O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
       -fsanitize-ignorelist="$here/stb_image.ignorelist" -Wall -Wextra -Werror -I "$root/include"
       -DPFLD_SEPARATE_COMPILATION)
mkdir -p "$out/artifacts"

# Build: pfld's entry points (the kernels of every ISA, image decoding, the ONNX importer: most of the
# code) compiled once, as a host program does with PFLD_SEPARATE_COMPILATION (core/compilation.hpp),
# beside each target's own unit, one compiler per core (all instrumented for coverage); then each
# target linked with them.
if $build; then
  pids=()
  jobs=${JOBS:-$(nproc)}
  for unit in implementation "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 0.2; done
    source_file="$here/fuzz_$unit.cpp"
    [ "$unit" = implementation ] && source_file="$root/examples/pfld_implementation.cpp"
    "$cxx" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$source_file" -o "$out/$unit.o" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  for t in "${targets[@]}"; do
    "$cxx" "${flags[@]}" -fsanitize=fuzzer "$out/$t.o" "$out/implementation.o" -o "$out/fuzz_$t"
  done
  echo "built ${#targets[@]} fuzz targets in $out"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
limits=(-rss_limit_mb=2560 -malloc_limit_mb=2048 -timeout=25)
for t in "${targets[@]}"; do
  inputs=()
  for d in "$here/corpus/$t" "$here/regressions/$t"; do
    for f in "$d"/*; do [ -f "$f" ] && inputs+=("$f"); done
  done
  # Every seed and regression input once: the inputs that once crashed must now be refused cleanly.
  "$out/fuzz_$t" "${limits[@]}" -runs=1 "${inputs[@]}" >"$out/$t.replay.log" 2>&1 ||
    { cat "$out/$t.replay.log"; echo "fuzz $t: a seed or regression input fails"; exit 1; }
  echo "fuzz $t: ${#inputs[@]} seeds and regression inputs replayed"
  $replay_only && continue
  mkdir -p "$out/corpus/$t"
  options=()
  [ -f "$here/dict/$t.dict" ] && options+=(-dict="$here/dict/$t.dict")
  [ -n "${FUZZ_SEED:-}" ] && options+=(-seed="$FUZZ_SEED")
  corpora=("$out/corpus/$t" "$here/corpus/$t")
  [ -d "$here/regressions/$t" ] && corpora+=("$here/regressions/$t")  # (a target no input has crashed has none)
  if ! "$out/fuzz_$t" "${limits[@]}" "${options[@]}" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$out/artifacts/$t-" "${corpora[@]}" \
      >"$out/$t.log" 2>&1; then
    tail -n 60 "$out/$t.log"
    echo "fuzz $t: FAILED (input in $out/artifacts/)"
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
  cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -1)
  echo "fuzz $t: ${seconds} s, ${execs:-?} runs, ${cov:-cov: ?}, no crash"
done
