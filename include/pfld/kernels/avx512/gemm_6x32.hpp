// AVX-512 GEMM micro-kernel: a 6x32 tile of C in 12 named zmm accumulators; per k, two vectors of B
// and six broadcasts of A feed 12 FMAs. Masked loads and stores take the edge tiles.
#pragma once

#include "../../core/cpu.hpp"
#include "../gemm_kernel.hpp"

#if defined(PFLD_ARCH_X86_64)
#include <immintrin.h>

namespace pfld::kernels::avx512 {

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) inline void gemm_6x32(
    int kc, const float* a, std::ptrdiff_t a_row_stride, std::ptrdiff_t a_k_stride, const float* b, float* c,
    std::size_t ldc, int mr, int nr, bool accumulate, const GemmEpilogue* epilogue) {
  // Rows past mr repeat row 0: computed, never stored, and never read out of bounds.
  const float* a0 = a;
  const float* a1 = a + (mr > 1 ? a_row_stride : 0);
  const float* a2 = a + (mr > 2 ? 2 * a_row_stride : 0);
  const float* a3 = a + (mr > 3 ? 3 * a_row_stride : 0);
  const float* a4 = a + (mr > 4 ? 4 * a_row_stride : 0);
  const float* a5 = a + (mr > 5 ? 5 * a_row_stride : 0);
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  std::ptrdiff_t at = 0;
#pragma GCC unroll 4  // loop overhead otherwise takes issue slots from the FMAs
  for (int k = 0; k < kc; ++k, at += a_k_stride, b += 32) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    __m512 ai = _mm512_set1_ps(a0[at]);
    c00 = _mm512_fmadd_ps(ai, b0, c00);
    c01 = _mm512_fmadd_ps(ai, b1, c01);
    ai = _mm512_set1_ps(a1[at]);
    c10 = _mm512_fmadd_ps(ai, b0, c10);
    c11 = _mm512_fmadd_ps(ai, b1, c11);
    ai = _mm512_set1_ps(a2[at]);
    c20 = _mm512_fmadd_ps(ai, b0, c20);
    c21 = _mm512_fmadd_ps(ai, b1, c21);
    ai = _mm512_set1_ps(a3[at]);
    c30 = _mm512_fmadd_ps(ai, b0, c30);
    c31 = _mm512_fmadd_ps(ai, b1, c31);
    ai = _mm512_set1_ps(a4[at]);
    c40 = _mm512_fmadd_ps(ai, b0, c40);
    c41 = _mm512_fmadd_ps(ai, b1, c41);
    ai = _mm512_set1_ps(a5[at]);
    c50 = _mm512_fmadd_ps(ai, b0, c50);
    c51 = _mm512_fmadd_ps(ai, b1, c51);
  }
  const __m512 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  const __mmask16 lo_mask = static_cast<__mmask16>(nr >= 16 ? 0xffff : (1u << nr) - 1);
  const __mmask16 hi_mask = static_cast<__mmask16>(nr >= 32 ? 0xffff : nr <= 16 ? 0 : (1u << (nr - 16)) - 1);
  __m512 bias_lo = _mm512_setzero_ps(), bias_hi = _mm512_setzero_ps();
  __m512 min_v = _mm512_setzero_ps(), max_v = _mm512_setzero_ps();
  if (epilogue) {
    if (epilogue->bias) {
      bias_lo = _mm512_maskz_loadu_ps(lo_mask, epilogue->bias);
      bias_hi = _mm512_maskz_loadu_ps(hi_mask, epilogue->bias + 16);
    }
    min_v = _mm512_set1_ps(epilogue->lo);
    max_v = _mm512_set1_ps(epilogue->hi);
  }
  for (int i = 0; i < mr; ++i) {
    float* ci = c + static_cast<std::size_t>(i) * ldc;
    __m512 lo = rows[i][0], hi = rows[i][1];
    if (accumulate) {
      lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(lo_mask, ci));
      hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(hi_mask, ci + 16));
    }
    if (epilogue) {
      lo = _mm512_add_ps(lo, bias_lo);
      hi = _mm512_add_ps(hi, bias_hi);
      if (epilogue->residual) {
        const float* r = epilogue->residual + static_cast<std::size_t>(i) * epilogue->residual_stride;
        lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(lo_mask, r));
        hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(hi_mask, r + 16));
      }
      // (maskz forms: GCC 12 flags the plain ones' undefined pass-through as maybe-uninitialized)
      lo = _mm512_maskz_min_ps(0xffff, _mm512_maskz_max_ps(0xffff, lo, min_v), max_v);
      hi = _mm512_maskz_min_ps(0xffff, _mm512_maskz_max_ps(0xffff, hi, min_v), max_v);
    }
    _mm512_mask_storeu_ps(ci, lo_mask, lo);
    _mm512_mask_storeu_ps(ci + 16, hi_mask, hi);
  }
}

// For matrices 16 columns wide or less (the thin layers of narrow networks), where half of the 6x32
// tile would be masked off: 8 rows of one vector, 8 accumulators; per k one B vector and 8 broadcasts.
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) inline void gemm_8x16(
    int kc, const float* a, std::ptrdiff_t a_row_stride, std::ptrdiff_t a_k_stride, const float* b, float* c,
    std::size_t ldc, int mr, int nr, bool accumulate, const GemmEpilogue* epilogue) {
  constexpr int MR = 8;
  const float* rows[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) rows[i] = a + (i < mr ? i * a_row_stride : 0);  // past mr: row 0, never stored
  __m512 acc[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_ps();
  std::ptrdiff_t at = 0;
#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k, at += a_k_stride, b += 16) {
    const __m512 bk = _mm512_load_ps(b);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(rows[i][at]), bk, acc[i]);
  }
  const __mmask16 mask = static_cast<__mmask16>(nr >= 16 ? 0xffff : (1u << nr) - 1);
  __m512 bias = _mm512_setzero_ps(), min_v = _mm512_setzero_ps(), max_v = _mm512_setzero_ps();
  if (epilogue) {
    if (epilogue->bias) bias = _mm512_maskz_loadu_ps(mask, epilogue->bias);
    min_v = _mm512_set1_ps(epilogue->lo);
    max_v = _mm512_set1_ps(epilogue->hi);
  }
  for (int i = 0; i < mr; ++i) {
    float* ci = c + static_cast<std::size_t>(i) * ldc;
    __m512 v = acc[i];
    if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, ci));
    if (epilogue) {
      v = _mm512_add_ps(v, bias);
      if (epilogue->residual)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, epilogue->residual + static_cast<std::size_t>(i) * epilogue->residual_stride));
      v = _mm512_maskz_min_ps(0xffff, _mm512_maskz_max_ps(0xffff, v, min_v), max_v);
    }
    _mm512_mask_storeu_ps(ci, mask, v);
  }
}

inline GemmKernel gemm_kernel() { return {6, 32, gemm_6x32, "avx512 6x32"}; }
inline GemmKernel gemm_kernel_narrow() { return {8, 16, gemm_8x16, "avx512 8x16"}; }

}  // namespace pfld::kernels::avx512
#endif
