// AVX-512 GEMM micro-kernel: a 6x32 tile of C in 12 named zmm accumulators; per k, two vectors of B
// and six broadcasts of A feed 12 FMAs.
#pragma once

#include "../../core/cpu.hpp"
#include "../gemm_kernel.hpp"

#if defined(PFLD_ARCH_X86_64)
#include <immintrin.h>

namespace pfld::kernels::avx512 {

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) inline void gemm_6x32(
    int kc, const float* a, const float* b, float* c, std::size_t ldc, int mr, int nr, bool accumulate) {
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  for (int k = 0; k < kc; ++k, a += 6, b += 32) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    __m512 ai = _mm512_set1_ps(a[0]);
    c00 = _mm512_fmadd_ps(ai, b0, c00);
    c01 = _mm512_fmadd_ps(ai, b1, c01);
    ai = _mm512_set1_ps(a[1]);
    c10 = _mm512_fmadd_ps(ai, b0, c10);
    c11 = _mm512_fmadd_ps(ai, b1, c11);
    ai = _mm512_set1_ps(a[2]);
    c20 = _mm512_fmadd_ps(ai, b0, c20);
    c21 = _mm512_fmadd_ps(ai, b1, c21);
    ai = _mm512_set1_ps(a[3]);
    c30 = _mm512_fmadd_ps(ai, b0, c30);
    c31 = _mm512_fmadd_ps(ai, b1, c31);
    ai = _mm512_set1_ps(a[4]);
    c40 = _mm512_fmadd_ps(ai, b0, c40);
    c41 = _mm512_fmadd_ps(ai, b1, c41);
    ai = _mm512_set1_ps(a[5]);
    c50 = _mm512_fmadd_ps(ai, b0, c50);
    c51 = _mm512_fmadd_ps(ai, b1, c51);
  }
  const __m512 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  // Masked loads and stores handle a partial width without a scalar tail.
  const __mmask16 lo_mask = static_cast<__mmask16>(nr >= 16 ? 0xffff : (1u << nr) - 1);
  const __mmask16 hi_mask = static_cast<__mmask16>(nr >= 32 ? 0xffff : nr <= 16 ? 0 : (1u << (nr - 16)) - 1);
  for (int i = 0; i < mr; ++i) {
    float* ci = c + static_cast<std::size_t>(i) * ldc;
    __m512 lo = rows[i][0], hi = rows[i][1];
    if (accumulate) {
      lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(lo_mask, ci));
      hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(hi_mask, ci + 16));
    }
    _mm512_mask_storeu_ps(ci, lo_mask, lo);
    _mm512_mask_storeu_ps(ci + 16, hi_mask, hi);
  }
}

inline GemmKernel gemm_kernel() { return {6, 32, gemm_6x32, "avx512 6x32"}; }

}  // namespace pfld::kernels::avx512
#endif
