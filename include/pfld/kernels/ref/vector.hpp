// Plain floats as a vector of width 1: the kernels written once over V (*_simd.inc) instantiated for
// the scalar reference ISA, and for CPUs without a SIMD path.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace pfld::kernels::ref {

struct V {
  using type = float;
  static constexpr int width = 1;
  static constexpr int accumulators = 8;
  static type load(const float* p) { return *p; }
  static void store(float* p, type v) { *p = v; }
  static type zero() { return 0.0f; }
  static type load_n(const float* p, int) { return *p; }
  static void store_n(float* p, type v, int) { *p = v; }
  static type set1(float v) { return v; }
  static type in_register(type v) { return v; }
  static type max(type a, type b) { return std::max(a, b); }
  static type clamp(type v, type lo, type hi) { return std::min(std::max(v, lo), hi); }
  static type add(type a, type b) { return a + b; }
  static type fma(type a, type b, type c) { return a * b + c; }  // unfused, as the reference convolution
  static type fused_fma(type a, type b, type c) { return std::fma(a, b, c); }  // (the int8 requantization's)
  // Bytes as floats and back (see avx512/vector.hpp).
  static type load_u8(const std::uint8_t* p) { return static_cast<float>(*p); }
  static type load_u8_n(const std::uint8_t* p, int) { return static_cast<float>(*p); }
  // (callers clamp v to [0, 255]; a NaN, which no clamp removes, stores 0: converting it would be undefined)
  static void store_u8(std::uint8_t* p, type v) { *p = v == v ? static_cast<std::uint8_t>(std::nearbyint(v)) : 0; }
  static void store_u8_n(std::uint8_t* p, type v, int) { store_u8(p, v); }
  static type sub(type a, type b) { return a - b; }
  static type mul(type a, type b) { return a * b; }
  // v where lo < y < hi, else 0.
  static type inside(type v, type y, type lo, type hi) { return y > lo && y < hi ? v : 0.0f; }
};

}  // namespace pfld::kernels::ref
