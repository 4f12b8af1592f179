// AVX2 + FMA GEMM micro-kernel: a 6x16 tile of C in 12 named ymm accumulators; per k, two vectors of B
// and six broadcasts of A feed 12 FMAs.
#pragma once

#include "../../core/cpu.hpp"
#include "../gemm_kernel.hpp"

#if defined(PFLD_COMPILE_AVX2)
#include <immintrin.h>

namespace pfld::kernels::avx2 {

// The target attribute is on every function with AVX2 code, inline or not, so that no caller compiled
// without it can end up with an AVX2 copy (docs/ARCHITECTURE.md, section 5).
__attribute__((target("avx2,fma"))) inline void gemm_6x16(
    int kc, const float* a, std::ptrdiff_t a_row_stride, std::ptrdiff_t a_k_stride, const float* b, float* c,
    std::size_t ldc, int mr, int nr, bool accumulate, const GemmEpilogue* epilogue) {
  // Rows past mr repeat row 0: computed, never stored, and never read out of bounds.
  const float* a0 = a;
  const float* a1 = a + (mr > 1 ? a_row_stride : 0);
  const float* a2 = a + (mr > 2 ? 2 * a_row_stride : 0);
  const float* a3 = a + (mr > 3 ? 3 * a_row_stride : 0);
  const float* a4 = a + (mr > 4 ? 4 * a_row_stride : 0);
  const float* a5 = a + (mr > 5 ? 5 * a_row_stride : 0);
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  std::ptrdiff_t at = 0;
#pragma GCC unroll 4  // loop overhead otherwise takes issue slots from the FMAs
  for (int k = 0; k < kc; ++k, at += a_k_stride, b += 16) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a0 + at);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a1 + at);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a2 + at);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a3 + at);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a4 + at);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a5 + at);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
  }
  const __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == 6 && nr == 16) {
    __m256 bias_lo = _mm256_setzero_ps(), bias_hi = _mm256_setzero_ps();
    __m256 min_v = _mm256_setzero_ps(), max_v = _mm256_setzero_ps();
    if (epilogue) {
      if (epilogue->bias) {
        bias_lo = _mm256_loadu_ps(epilogue->bias);
        bias_hi = _mm256_loadu_ps(epilogue->bias + 8);
      }
      min_v = _mm256_set1_ps(epilogue->lo);
      max_v = _mm256_set1_ps(epilogue->hi);
    }
    const bool clamp_lo = epilogue && epilogue->clamps_below(), clamp_hi = epilogue && epilogue->clamps_above();
    for (int i = 0; i < 6; ++i) {
      float* ci = c + static_cast<std::size_t>(i) * ldc;
      __m256 lo = rows[i][0], hi = rows[i][1];
      if (accumulate) {
        lo = _mm256_add_ps(lo, _mm256_loadu_ps(ci));
        hi = _mm256_add_ps(hi, _mm256_loadu_ps(ci + 8));
      }
      if (epilogue) {
        lo = _mm256_add_ps(lo, bias_lo);
        hi = _mm256_add_ps(hi, bias_hi);
        if (epilogue->residual) {
          const float* r = epilogue->residual + static_cast<std::size_t>(i) * epilogue->residual_stride;
          lo = _mm256_add_ps(lo, _mm256_loadu_ps(r));
          hi = _mm256_add_ps(hi, _mm256_loadu_ps(r + 8));
        }
        if (clamp_lo) {
          lo = _mm256_max_ps(lo, min_v);
          hi = _mm256_max_ps(hi, min_v);
        }
        if (clamp_hi) {
          lo = _mm256_min_ps(lo, max_v);
          hi = _mm256_min_ps(hi, max_v);
        }
      }
      _mm256_storeu_ps(ci, lo);
      _mm256_storeu_ps(ci + 8, hi);
    }
    return;
  }
  alignas(32) float tile[6][16];
  for (int i = 0; i < 6; ++i) {
    _mm256_store_ps(tile[i], rows[i][0]);
    _mm256_store_ps(tile[i] + 8, rows[i][1]);
  }
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) {
      float& out = c[static_cast<std::size_t>(i) * ldc + static_cast<std::size_t>(j)];
      const float v = (accumulate ? out : 0.0f) + tile[i][j];
      out = epilogue ? apply_epilogue(*epilogue, i, j, v) : v;
    }
}

inline GemmKernel gemm_kernel() { return {6, 16, gemm_6x16, "avx2 6x16"}; }

}  // namespace pfld::kernels::avx2
#endif
