// Portable micro-kernel in plain C++ for the GEMM drivers: the tile layout of the SIMD kernels without
// intrinsics, so the drivers' packing and edge handling are tested on every machine.
#pragma once

#include <cstddef>

#include "../gemm_kernel.hpp"

namespace pfld::kernels::ref {

inline void gemm_4x8(int kc, const float* a, std::ptrdiff_t a_row_stride, std::ptrdiff_t a_k_stride, const float* b,
                     float* c, std::size_t ldc, int mr, int nr, bool accumulate, const GemmEpilogue* epilogue) {
  constexpr int MR = 4, NR = 8;
  float acc[MR][NR] = {};
  for (int k = 0; k < kc; ++k, b += NR)
    for (int i = 0; i < mr; ++i) {
      const float ai = a[i * a_row_stride + k * a_k_stride];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
    }
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) {
      float& out = c[static_cast<std::size_t>(i) * ldc + static_cast<std::size_t>(j)];
      const float v = (accumulate ? out : 0.0f) + acc[i][j];
      out = epilogue ? apply_epilogue(*epilogue, i, j, v) : v;
    }
}

inline GemmKernel gemm_kernel() { return {4, 8, gemm_4x8, "ref 4x8"}; }

}  // namespace pfld::kernels::ref
