// The depthwise kernels of depthwise_simd.inc over plain floats (a vector of width 1): the inference
// engine's depthwise path when the scalar reference ISA is forced, and on CPUs without a SIMD path.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../activation.hpp"
#include "../conv_geometry.hpp"

namespace pfld::kernels::ref {

struct V {
  using type = float;
  static constexpr int width = 1;
  static type load(const float* p) { return *p; }
  static void store(float* p, type v) { *p = v; }
  static type zero() { return 0.0f; }
  static type load_n(const float* p, int) { return *p; }
  static void store_n(float* p, type v, int) { *p = v; }
  static type set1(float v) { return v; }
  static type clamp(type v, type lo, type hi) { return std::min(std::max(v, lo), hi); }
  static type add(type a, type b) { return a + b; }
  static type fma(type a, type b, type c) { return a * b + c; }  // unfused, as the reference convolution
};

#include "../depthwise_simd.inc"

}  // namespace pfld::kernels::ref
