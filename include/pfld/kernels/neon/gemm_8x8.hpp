// NEON (AArch64) GEMM micro-kernel: an 8x8 tile of C in 16 named q-register accumulators; per k, two
// vectors of A and two of B feed 16 lane-indexed FMAs.
#pragma once

#include "../../core/cpu.hpp"
#include "../gemm_kernel.hpp"

#if defined(PFLD_ARCH_AARCH64)
#include <arm_neon.h>

namespace pfld::kernels::neon {

inline void gemm_8x8(int kc, const float* a, const float* b, float* c, std::size_t ldc, int mr, int nr,
                     bool accumulate) {
  float32x4_t c00 = vdupq_n_f32(0), c01 = vdupq_n_f32(0), c10 = vdupq_n_f32(0), c11 = vdupq_n_f32(0);
  float32x4_t c20 = vdupq_n_f32(0), c21 = vdupq_n_f32(0), c30 = vdupq_n_f32(0), c31 = vdupq_n_f32(0);
  float32x4_t c40 = vdupq_n_f32(0), c41 = vdupq_n_f32(0), c50 = vdupq_n_f32(0), c51 = vdupq_n_f32(0);
  float32x4_t c60 = vdupq_n_f32(0), c61 = vdupq_n_f32(0), c70 = vdupq_n_f32(0), c71 = vdupq_n_f32(0);
  for (int k = 0; k < kc; ++k, a += 8, b += 8) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
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
    for (int i = 0; i < 8; ++i) {
      float* ci = c + static_cast<std::size_t>(i) * ldc;
      float32x4_t lo = rows[i][0], hi = rows[i][1];
      if (accumulate) {
        lo = vaddq_f32(lo, vld1q_f32(ci));
        hi = vaddq_f32(hi, vld1q_f32(ci + 4));
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
    for (int j = 0; j < nr; ++j) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + tile[i][j];
}

inline GemmKernel gemm_kernel() { return {8, 8, gemm_8x8, "neon 8x8"}; }

}  // namespace pfld::kernels::neon
#endif
