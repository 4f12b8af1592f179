// AVX2 + FMA: the vector type `V` (8-float ymm vectors) the kernels written once over V (*_simd.inc) are
// instantiated with.
#pragma once

#include "../../core/cpu.hpp"

#if defined(PFLD_ARCH_X86_64)
#include <immintrin.h>

#include "target_begin.inc"

namespace pfld::kernels::avx2 {

struct V {
  using type = __m256;
  static constexpr int width = 8;
  // Accumulator registers a register-tiled kernel may keep live (the rest hold operands).
  static constexpr int accumulators = 12;
  static type load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, type v) { _mm256_storeu_ps(p, v); }
  static type zero() { return _mm256_setzero_ps(); }
  // The first n (< width) lanes; the others read as zero and are not written.
  static __m256i mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static type load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store_n(float* p, type v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static type set1(float v) { return _mm256_set1_ps(v); }
  static type clamp(type v, type lo, type hi) { return _mm256_min_ps(_mm256_max_ps(v, lo), hi); }
  static type add(type a, type b) { return _mm256_add_ps(a, b); }
  static type fma(type a, type b, type c) { return _mm256_fmadd_ps(a, b, c); }
  static type sub(type a, type b) { return _mm256_sub_ps(a, b); }
  static type mul(type a, type b) { return _mm256_mul_ps(a, b); }
  // v where lo < y < hi, else 0.
  static type inside(type v, type y, type lo, type hi) {
    return _mm256_and_ps(v, _mm256_and_ps(_mm256_cmp_ps(y, lo, _CMP_GT_OQ), _mm256_cmp_ps(y, hi, _CMP_LT_OQ)));
  }
};

}  // namespace pfld::kernels::avx2

#include "target_end.inc"
#endif
