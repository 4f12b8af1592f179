// Portable micro-kernel in plain C++ for the GEMM driver: the tile layout of the SIMD kernels without
// intrinsics, so the driver's packing and edge handling are tested on every machine.
#pragma once

#include "../gemm_kernel.hpp"

namespace pfld::kernels::ref {

inline void gemm_4x8(int kc, const float* a, const float* b, float* c, std::size_t ldc, int mr, int nr,
                     bool accumulate) {
  constexpr int MR = 4, NR = 8;
  float acc[MR][NR] = {};
  for (int k = 0; k < kc; ++k, a += MR, b += NR)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + acc[i][j];
}

inline GemmKernel gemm_kernel() { return {4, 8, gemm_4x8, "ref 4x8"}; }

}  // namespace pfld::kernels::ref
