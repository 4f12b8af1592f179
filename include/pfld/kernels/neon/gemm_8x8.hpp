// NEON (AArch64) GEMM micro-kernel: an 8x8 tile of C in 16 named q-register accumulators; per k, two
// vectors of A and two of B feed 16 lane-indexed FMAs.
#pragma once

#include "../../core/cpu.hpp"
#include "../gemm_kernel.hpp"

#if defined(PFLD_ARCH_AARCH64)
#include <arm_neon.h>

namespace pfld::kernels::neon {

inline void gemm_8x8(int kc, const float* a, std::ptrdiff_t a_row_stride, std::ptrdiff_t a_k_stride, const float* b,
                     float* c, std::size_t ldc, int mr, int nr, bool accumulate, const GemmEpilogue* epilogue) {
  // A packed panel gives eight rows in two vector loads; rows read in place come one broadcast each
  // (rows past mr repeat row 0: computed, never stored, never read out of bounds).
  const bool packed = a_row_stride == 1 && a_k_stride == 8;
  const float* r[8];
  for (int i = 0; i < 8; ++i) r[i] = a + (i < mr ? i * a_row_stride : 0);
  float32x4_t c00 = vdupq_n_f32(0), c01 = vdupq_n_f32(0), c10 = vdupq_n_f32(0), c11 = vdupq_n_f32(0);
  float32x4_t c20 = vdupq_n_f32(0), c21 = vdupq_n_f32(0), c30 = vdupq_n_f32(0), c31 = vdupq_n_f32(0);
  float32x4_t c40 = vdupq_n_f32(0), c41 = vdupq_n_f32(0), c50 = vdupq_n_f32(0), c51 = vdupq_n_f32(0);
  float32x4_t c60 = vdupq_n_f32(0), c61 = vdupq_n_f32(0), c70 = vdupq_n_f32(0), c71 = vdupq_n_f32(0);
  std::ptrdiff_t at = 0;
  for (int k = 0; k < kc; ++k, at += a_k_stride, b += 8) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    float32x4_t a0, a1;
    if (packed) {
      a0 = vld1q_f32(a + at);
      a1 = vld1q_f32(a + at + 4);
    } else {
      const float lanes0[4] = {r[0][at], r[1][at], r[2][at], r[3][at]};
      const float lanes1[4] = {r[4][at], r[5][at], r[6][at], r[7][at]};
      a0 = vld1q_f32(lanes0);
      a1 = vld1q_f32(lanes1);
    }
    c00 = vfmaq_laneq_f32(c00, b0, a0, 0);
    c01 = vfmaq_laneq_f32(c01, b1, a0, 0);
    c10 = vfmaq_laneq_f32(c10, b0, a0, 1);
    c11 = vfmaq_laneq_f32(c11, b1, a0, 1);
    c20 = vfmaq_laneq_f32(c20, b0, a0, 2);
    c21 = vfmaq_laneq_f32(c21, b1, a0, 2);
    c30 = vfmaq_laneq_f32(c30, b0, a0, 3);
    c31 = vfmaq_laneq_f32(c31, b1, a0, 3);
    c40 = vfmaq_laneq_f32(c40, b0, a1, 0);
    c41 = vfmaq_laneq_f32(c41, b1, a1, 0);
    c50 = vfmaq_laneq_f32(c50, b0, a1, 1);
    c51 = vfmaq_laneq_f32(c51, b1, a1, 1);
    c60 = vfmaq_laneq_f32(c60, b0, a1, 2);
    c61 = vfmaq_laneq_f32(c61, b1, a1, 2);
    c70 = vfmaq_laneq_f32(c70, b0, a1, 3);
    c71 = vfmaq_laneq_f32(c71, b1, a1, 3);
  }
  const float32x4_t rows[8][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                                  {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
  if (mr == 8 && nr == 8) {
    float32x4_t bias_lo = vdupq_n_f32(0), bias_hi = vdupq_n_f32(0), min_v = vdupq_n_f32(0), max_v = vdupq_n_f32(0);
    if (epilogue) {
      if (epilogue->bias) {
        bias_lo = vld1q_f32(epilogue->bias);
        bias_hi = vld1q_f32(epilogue->bias + 4);
      }
      min_v = vdupq_n_f32(epilogue->lo);
      max_v = vdupq_n_f32(epilogue->hi);
    }
    const bool clamp_lo = epilogue && epilogue->clamps_below(), clamp_hi = epilogue && epilogue->clamps_above();
    for (int i = 0; i < 8; ++i) {
      float* ci = c + static_cast<std::size_t>(i) * ldc;
      float32x4_t lo = rows[i][0], hi = rows[i][1];
      if (accumulate) {
        lo = vaddq_f32(lo, vld1q_f32(ci));
        hi = vaddq_f32(hi, vld1q_f32(ci + 4));
      }
      if (epilogue) {
        lo = vaddq_f32(lo, bias_lo);
        hi = vaddq_f32(hi, bias_hi);
        if (epilogue->residual) {
          const float* res = epilogue->residual + static_cast<std::size_t>(i) * epilogue->residual_stride;
          lo = vaddq_f32(lo, vld1q_f32(res));
          hi = vaddq_f32(hi, vld1q_f32(res + 4));
        }
        if (clamp_lo) {
          lo = vmaxq_f32(lo, min_v);
          hi = vmaxq_f32(hi, min_v);
        }
        if (clamp_hi) {
          lo = vminq_f32(lo, max_v);
          hi = vminq_f32(hi, max_v);
        }
      }
      vst1q_f32(ci, lo);
      vst1q_f32(ci + 4, hi);
    }
    return;
  }
  float tile[8][8];
  for (int i = 0; i < 8; ++i) {
    vst1q_f32(tile[i], rows[i][0]);
    vst1q_f32(tile[i] + 4, rows[i][1]);
  }
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) {
      float& out = c[static_cast<std::size_t>(i) * ldc + static_cast<std::size_t>(j)];
      const float v = (accumulate ? out : 0.0f) + tile[i][j];
      out = epilogue ? apply_epilogue(*epilogue, i, j, v) : v;
    }
}

inline GemmKernel gemm_kernel() { return {8, 8, gemm_8x8, "neon 8x8"}; }

}  // namespace pfld::kernels::neon
#endif
