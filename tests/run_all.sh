#!/usr/bin/env bash
# Builds and runs every test of pfld. This is the one test command of the README and of CI.
#   1. CMake Release build (tests, examples, benchmarks), warnings as errors, the whole suite under CTest;
#   2. install, then a consumer project built with find_package(pfld) and with pkg-config;
#   3. Meson build (clang where there is one) of the tools and the tests under AddressSanitizer +
#      UndefinedBehaviorSanitizer; `meson test`, and a Meson consumer taking pfld as a subproject;
#   4. the fuzz targets (tests/fuzz/run.sh, clang): seeds and crash regressions replayed, 20 s of fuzzing each;
#   5. an AArch64 cross build (g++-aarch64-linux-gnu) whose suite runs under qemu-aarch64;
#   6. the x86-64 build on an emulated CPU without AVX2 (qemu-x86_64 -cpu Nehalem): the run-time
#      dispatch must pick the scalar kernels and never execute an AVX instruction.
# Compilation is most of the time (every program compiles the kernels of every ISA), so the test
# sources build as unity batches and every configuration is compiled once.
# Build trees go to build/ (override with BUILD_ROOT=...).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_ROOT:-$here/build}
jobs=${JOBS:-$(nproc)}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

# Each stage prints how long the one before it took, so CI's time budget can be watched stage by stage.
stage_start=$SECONDS
step() {
  [ "$stage_start" -lt "$SECONDS" ] && printf '(stage took %d s, %d s so far)\n' $((SECONDS - stage_start)) "$SECONDS"
  stage_start=$SECONDS
  printf '\n==== %s\n' "$*"
}

# onnxruntime for the ONNX tests' cross-checks, when .ci/run (or you) installed it there.
if [ -z "${PFLD_ORT_DIR:-}" ] && [ -d "$build/ortnode/node_modules/onnxruntime-node" ]; then
  export PFLD_ORT_DIR="$build/ortnode"
fi

# Every suite run is counted, so the last line sums up all stages.
passed=0
log=$(mktemp)
trap 'rm -f "$log" "$log".*' EXIT
run_ctest() {
  ctest --test-dir "$@" --output-on-failure -j "$jobs" | tee "$log"
  passed=$((passed + $(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log")))
}
# The doctest suites of the test binary $1 must be exactly tests/suites.txt (the one list CMake and Meson
# read), and each a test of the build system $2, whose test names come on stdin: a suite left out of
# the list would never run, a listed one that does not exist would run nothing.
check_suites() {
  local registered listed suite missing=() unknown=()
  registered=$(cat)
  listed=$(sed -n 's/^\([a-z][a-z0-9_]*\).*/\1/p' "$here/tests/suites.txt")
  local actual
  actual=$("$1" --list-test-suites --no-version | grep -v -e '^\[doctest\]' -e '^=*$')
  for suite in $actual; do
    grep -qx "$suite" <<<"$listed" || missing+=("$suite (not in tests/suites.txt)")
    grep -qx "$suite" <<<"$registered" || missing+=("$suite (not a $2 test)")
  done
  for suite in $listed; do
    grep -qx "$suite" <<<"$actual" || unknown+=("$suite")
  done
  if [ ${#missing[@]} -gt 0 ] || [ ${#unknown[@]} -gt 0 ]; then
    echo "doctest suites that do not run: ${missing[*]:-none}; listed suites with no test case: ${unknown[*]:-none}"
    return 1
  fi
  echo "every doctest suite is in tests/suites.txt and is a $2 test"
}

step "CMake Release build and tests"
unity=(-DCMAKE_UNITY_BUILD=ON)
cmake -S "$here" -B "$build/release" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DPFLD_WERROR=ON "${unity[@]}" >/dev/null
cmake --build "$build/release" -j "$jobs"
run_ctest "$build/release"
ctest --test-dir "$build/release" -N | sed -n 's/^ *Test *#[0-9]*: //p' | check_suites "$build/release/tests/pfld_tests" CTest

step "Install, then consumers via find_package and pkg-config"
prefix="$build/prefix"
rm -rf "$prefix"
cmake --install "$build/release" --prefix "$prefix" >/dev/null
cmake -S "$here/tests/consumer" -B "$build/consumer" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$build/consumer"
"$build/consumer/consumer"
# Relocated: the .pc file finds its prefix from its own location.
moved="$build/prefix-moved"
rm -rf "$moved" && cp -r "$prefix" "$moved"
PKG_CONFIG_PATH="$moved/share/pkgconfig" c++ -std=c++17 -O1 -Wall -Wextra -Werror \
  $(PKG_CONFIG_PATH="$moved/share/pkgconfig" pkg-config --cflags pfld) \
  "$here/tests/consumer/main.cpp" -o "$build/consumer/consumer_pkgconfig"
"$build/consumer/consumer_pkgconfig"

step "Meson build of the tools and the tests under AddressSanitizer + UndefinedBehaviorSanitizer; meson test"
# With clang where there is one (CI installs it for the fuzz targets): its UndefinedBehaviorSanitizer also
# checks pointer arithmetic that leaves an object and float-to-int conversions out of range, which GCC's
# does not. -O0: with both sanitizers the suite compiles several times faster than at -O1, and still runs
# in well under a minute in parallel. No debug info: sanitizer reports name functions.
meson_dir="$build/meson"
meson_cxx=${CXX:-c++}
if command -v "${CLANGXX:-clang++}" >/dev/null; then
  meson_dir="$build/meson-clang"
  meson_cxx=${CLANGXX:-clang++}
fi
reconfigure=()
[ -f "$meson_dir/meson-private/coredata.dat" ] && reconfigure=(--reconfigure)  # a configured build, not a failed setup
CXX=$meson_cxx meson setup "${reconfigure[@]}" "$meson_dir" "$here" --werror -Dbuildtype=plain \
  -Dsanitize=address,undefined -Dunity=on -Dunity_size=6 >/dev/null
meson compile -C "$meson_dir"
# The "slow" suite stays native: the training runs, the model suite on the scalar kernels (2 minutes under
# the sanitizers; the kernels and infer suites already run every scalar kernel here) and every face of 300-W.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  meson test -C "$meson_dir" --print-errorlogs --no-suite slow --num-processes "$jobs" | tee "$log"
passed=$((passed + $(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log")))
meson test -C "$meson_dir" --list 2>/dev/null | sed -n 's|^pfld[:a-z]* / ||p' | check_suites "$meson_dir/tests/pfld_tests" Meson
# A Meson project that takes pfld as a subproject, through declare_dependency + override_dependency.
sub="$build/meson-consumer"
rm -rf "$sub" && mkdir -p "$sub/subprojects"
cp "$here/tests/consumer/meson.build" "$here/tests/consumer/main.cpp" "$sub/"
ln -s "$here" "$sub/subprojects/pfld"
meson setup "$sub/build" "$sub" >/dev/null
meson compile -C "$sub/build" >/dev/null
"$sub/build/consumer"

step "Fuzz targets (clang, libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer)"
# Every committed seed and regression input replayed, then each target fuzzed for a short while: a crash,
# hang, sanitizer report or allocation over 2 GB fails the stage (tests/fuzz/run.sh).
if command -v "${CLANGXX:-clang++}" >/dev/null; then
  # A fixed seed: the same mutations every run (the long runs that explore are tests/fuzz/run.sh's own).
  # 5 s a target: the whole command stays well under CI's 20 minutes on a slower machine than this one.
  BUILD_ROOT="$build" FUZZ_SEED=${FUZZ_SEED:-1} bash "$here/tests/fuzz/run.sh" --seconds "${FUZZ_SECONDS:-5}"
  passed=$((passed + 9))
elif [ -n "${CI:-}" ]; then
  echo "clang++ is missing: CI must run the fuzz targets (apt-get install clang libclang-rt-14-dev)"
  exit 1
else
  echo "skipped: no clang++ (apt-get install clang libclang-rt-14-dev)"
fi

step "AArch64 (NEON) cross build, tests under qemu-aarch64"
cmake -S "$here" -B "$build/aarch64" "${generator[@]}" -DCMAKE_TOOLCHAIN_FILE="$here/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DPFLD_WERROR=ON -DPFLD_BUILD_BENCHMARKS=OFF -DPFLD_BUILD_EXAMPLES=OFF "${unity[@]}" >/dev/null
cmake --build "$build/aarch64" -j "$jobs"
# Emulation is ~30x slower, so what does not depend on the ISA stays native: the training runs, the
# trainer's logic ("train": optimiser, checkpoints, readout fits), the Detector's ("detector"), the whole
# graph's finite differences ("graph_gradients"; the graph on NEON is the model suite's PyTorch parity),
# the model suite on the reference kernels and the suite over every face of 300-W.
run_ctest "$build/aarch64" -E "^(training|train|detector|graph_gradients|model_isa_ref|whole_300w)$"

step "x86-64 without AVX2 under qemu-x86_64 -cpu Nehalem: the scalar kernels chosen at run time"
if [ "$(uname -m)" = x86_64 ]; then
  # Every dispatched kernel and layer (infer and detector stay native: 55 s emulated), then the
  # whole inference path end to end: pfld_detect (face cascade, network, upright refine) must print
  # exactly what the native build prints when told to use the scalar kernels.
  qemu-x86_64 -cpu Nehalem "$build/release/tests/pfld_tests" --test-suite=core,kernels,gradients,torch_parity,loss,onnx,facedet \
    --no-version | tee "$log"
  grep -q "Status: SUCCESS" "$log"
  photo=/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg
  detect=("$build/release/examples/pfld_detect" --weights "$here/weights/pfld-1x-68.pfld" "$photo")
  PFLD_ISA=ref "${detect[@]}" >"$log.native"
  qemu-x86_64 -cpu Nehalem "${detect[@]}" >"$log.emulated"
  cmp "$log.native" "$log.emulated"
  grep -q '"landmarks"' "$log.emulated"
  echo "pfld_detect on $photo: the same landmarks emulated as natively on the scalar kernels"
  passed=$((passed + 2))
fi

step "All test stages passed"
echo "tests: $passed passed, 0 failed"
