#!/usr/bin/env bash
# Builds and runs every test of pfld. This is the one test command of the README and of CI.
#   1. CMake Release build, warnings as errors, the whole suite under CTest;
#   2. the suite again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. install, then a consumer project built with find_package(pfld) and with pkg-config;
#   4. Meson build and `meson test`, and a Meson consumer taking pfld as a subproject;
#   5. an AArch64 cross build (g++-aarch64-linux-gnu) whose suite runs under qemu-aarch64;
#   6. the x86-64 build on an emulated CPU without AVX2 (qemu-x86_64 -cpu Nehalem): the run-time
#      dispatch must pick the scalar kernels and never execute an AVX instruction.
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
trap 'rm -f "$log"' EXIT
run_ctest() {
  ctest --test-dir "$@" --output-on-failure -j "$jobs" | tee "$log"
  passed=$((passed + $(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log")))
}

step "CMake Release build and tests"
cmake -S "$here" -B "$build/release" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DPFLD_WERROR=ON >/dev/null
cmake --build "$build/release" -j "$jobs"
run_ctest "$build/release"

step "AddressSanitizer + UndefinedBehaviorSanitizer"
# -O0: with both sanitizers GCC compiles the suite about five times faster than at -O1 (test_infer.cpp:
# 17 s against 91 s) and the suite, still run in parallel, takes about 30 s.
cmake -S "$here" -B "$build/sanitize" "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g" \
  -DPFLD_WERROR=ON \
  -DPFLD_SANITIZE=address,undefined -DPFLD_BUILD_BENCHMARKS=OFF -DPFLD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build/sanitize" -j "$jobs"
# Examples are not built here (no test runs them but pfld_info; CI time). The "training" suite (two
# long training runs on code the other suites cover), "facedet_val" (the cascade over 145 photos) and
# "model_isa_ref" (the model suite again on the scalar kernels: 2 minutes here; the kernels and infer
# suites already run every scalar kernel under the sanitizers) stay native-only.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run_ctest "$build/sanitize" -E "^(training|facedet_val|model_isa_ref)$"

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

step "Meson build and tests"
if [ ! -d "$build/meson" ]; then
  meson setup "$build/meson" "$here" --werror >/dev/null
fi
meson test -C "$build/meson" --print-errorlogs --no-suite slow | tee "$log"
passed=$((passed + $(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log")))
# A Meson project that takes pfld as a subproject, through declare_dependency + override_dependency.
sub="$build/meson-consumer"
rm -rf "$sub" && mkdir -p "$sub/subprojects"
cp "$here/tests/consumer/meson.build" "$here/tests/consumer/main.cpp" "$sub/"
ln -s "$here" "$sub/subprojects/pfld"
meson setup "$sub/build" "$sub" >/dev/null
meson compile -C "$sub/build" >/dev/null
"$sub/build/consumer"

step "AArch64 (NEON) cross build, tests under qemu-aarch64"
cmake -S "$here" -B "$build/aarch64" "${generator[@]}" -DCMAKE_TOOLCHAIN_FILE="$here/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DPFLD_WERROR=ON -DPFLD_BUILD_BENCHMARKS=OFF -DPFLD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build/aarch64" -j "$jobs"
# Emulation is ~30x slower: the training runs, the second, reference-kernel model run and the
# 145-photo face detection stay native.
run_ctest "$build/aarch64" -E "^(training|model_isa_ref|facedet_val)$"

step "x86-64 without AVX2: the release tests under qemu-x86_64 -cpu Nehalem (scalar kernels chosen at run time)"
if [ "$(uname -m)" = x86_64 ]; then
  # Not the model suite: 70 s emulated, and the training graph on the scalar kernels is the native
  # model_isa_ref test; kernels and infer run every dispatched entry point.
  qemu-x86_64 -cpu Nehalem "$build/release/tests/pfld_tests" --test-suite=core,kernels,gradients,torch_parity,loss,infer,onnx,facedet \
    --no-version | tee "$log"
  grep -q "Status: SUCCESS" "$log"
  passed=$((passed + 1))
fi

step "All test stages passed"
echo "tests: $passed passed, 0 failed"
