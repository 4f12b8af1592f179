// AVX-512: the vector type `V` (16-float zmm vectors) the kernels written once over V (*_simd.inc) are
// instantiated with.
#pragma once

#include "../../core/cpu.hpp"

#if defined(PFLD_COMPILE_AVX512)
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "target_begin.inc"

namespace pfld::kernels::avx512 {

struct V {
  using type = __m512;
  static constexpr int width = 16;
  // Accumulator registers a register-tiled kernel may keep live (the rest hold operands).
  static constexpr int accumulators = 24;
  static type load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, type v) { _mm512_storeu_ps(p, v); }
  static type zero() { return _mm512_setzero_ps(); }
  // The first n (< width) lanes; the others read as zero and are not written.
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1); }
  static type load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store_n(float* p, type v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static type set1(float v) { return _mm512_set1_ps(v); }
  // The maskz forms: GCC 12 flags the plain ones' undefined pass-through as maybe-uninitialized.
  // The value as a register the compiler cannot see into: a load whose value feeds several FMAs is
  // then made once, not folded into each FMA as a memory operand (a load per use).
  static type in_register(type v) {
    asm("" : "+v"(v));
    return v;
  }
  static type max(type a, type b) { return _mm512_maskz_max_ps(0xffff, a, b); }
  static type clamp(type v, type lo, type hi) {
    return _mm512_maskz_min_ps(0xffff, _mm512_maskz_max_ps(0xffff, v, lo), hi);
  }
  static type add(type a, type b) { return _mm512_add_ps(a, b); }
  static type fma(type a, type b, type c) { return _mm512_fmadd_ps(a, b, c); }
  static type fused_fma(type a, type b, type c) { return _mm512_fmadd_ps(a, b, c); }
  // Bytes as floats (width of them; the _n forms the first n) and floats, whole numbers in [0, 255],
  // back to bytes, rounded to nearest even: the int8 kernels' loads and stores.
  static type load_u8(const std::uint8_t* p) {
    return _mm512_maskz_cvtepi32_ps(0xffff, _mm512_maskz_cvtepu8_epi32(0xffff, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  static type load_u8_n(const std::uint8_t* p, int n) {
    alignas(16) std::uint8_t bytes[16] = {};
    std::memcpy(bytes, p, static_cast<std::size_t>(n));
    return load_u8(bytes);
  }
  static void store_u8_n(std::uint8_t* p, type v, int n) {
    alignas(16) std::uint8_t bytes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(bytes), _mm512_maskz_cvtepi32_epi8(0xffff, _mm512_maskz_cvtps_epi32(0xffff, v)));
    std::memcpy(p, bytes, static_cast<std::size_t>(n));
  }
  static void store_u8(std::uint8_t* p, type v) { store_u8_n(p, v, width); }
  static type sub(type a, type b) { return _mm512_sub_ps(a, b); }
  static type mul(type a, type b) { return _mm512_mul_ps(a, b); }
  // v where lo < y < hi, else 0.
  static type inside(type v, type y, type lo, type hi) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, lo, _CMP_GT_OQ) & _mm512_cmp_ps_mask(y, hi, _CMP_LT_OQ), v);
  }
};

}  // namespace pfld::kernels::avx512

#include "target_end.inc"
#endif
