// The contract between the GEMM drivers and the per-ISA micro-kernels.
#pragma once

#include <cstddef>
#include <limits>

namespace pfld::kernels {

// What a finished tile goes through before it is stored, so a convolution's bias, activation and
// residual add cost no extra pass over memory: y = clamp(acc + bias[j] + residual[i][j], lo, hi).
struct GemmEpilogue {
  const float* bias = nullptr;      // per column of the tile (null: none)
  const float* residual = nullptr;  // a tile to add, row stride residual_stride (null: none)
  std::size_t residual_stride = 0;
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();

  // Whether each bound clamps at all: a linear layer has neither, ReLU only the lower one, and the
  // kernels skip the operations of a bound that cannot bite.
  bool clamps_below() const { return lo > -std::numeric_limits<float>::infinity(); }
  bool clamps_above() const { return hi < std::numeric_limits<float>::infinity(); }
};

// The epilogue for one element; the SIMD kernels do the same per vector.
inline float apply_epilogue(const GemmEpilogue& e, int i, int j, float v) {
  if (e.bias) v += e.bias[j];
  if (e.residual) v += e.residual[static_cast<std::size_t>(i) * e.residual_stride + static_cast<std::size_t>(j)];
  return v < e.lo ? e.lo : (v > e.hi ? e.hi : v);
}

// C[mr x nr] (row stride ldc) = (accumulate ? C : 0) + sum_k A[i][k] * B[k][0..nr), then the epilogue
// when one is given. A's element (i, k) is a[i * a_row_stride + k * a_k_stride]: a packed panel
// (stride 1, MR) or rows read in place (stride lda, 1). Rows past mr are never read. B is a packed panel
// (kc steps of NR floats, 64-byte aligned; for a k-pairs kernel, see GemmKernel::k_pairs). mr <= MR and
// nr <= NR: edge tiles come in smaller.
using MicroKernel = void (*)(int kc, const float* a, std::ptrdiff_t a_row_stride, std::ptrdiff_t a_k_stride,
                             const float* b, float* c, std::size_t ldc, int mr, int nr, bool accumulate,
                             const GemmEpilogue* epilogue);

struct GemmKernel {
  int mr;  // rows of C per tile
  int nr;  // columns of C per tile (a multiple of the vector width)
  MicroKernel run;
  const char* name;  // e.g. "avx2 6x16"
  // The same product for any number of rows mr (tiles looped inside the kernel, the epilogue set up
  // once), or null: the driver loops over tiles of run.
  MicroKernel all_rows = nullptr;
  // Whether the kernel takes k two steps at a time: B's panels hold ceil(kc / 2) pairs of rows, each
  // pair as NR / 8 vectors that interleave rows k and k + 1 column by column (the odd row of the last
  // pair zero), and A comes in rows (a_k_stride 1), so one 64-bit broadcast feeds two steps.
  bool k_pairs = false;
};

// How many rows of B a packed panel of kc steps holds for this kernel (the pair kernels round up).
inline int packed_steps(const GemmKernel& kernel, int kc) { return kernel.k_pairs ? (kc + 1) / 2 * 2 : kc; }

}  // namespace pfld::kernels
