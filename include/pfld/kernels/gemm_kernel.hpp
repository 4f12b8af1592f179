// The contract between the GEMM driver and the per-ISA micro-kernels.
#pragma once

#include <cstddef>

namespace pfld::kernels {

// C[mr x nr] (row stride ldc) = (accumulate ? C : 0) + sum_k A[k][0..mr) * B[k][0..nr)
// where A is a packed panel (kc steps of MR floats) and B a packed panel (kc steps of NR floats).
// mr <= MR and nr <= NR: the edge tiles of the matrix come in smaller.
using MicroKernel = void (*)(int kc, const float* a, const float* b, float* c, std::size_t ldc, int mr, int nr,
                             bool accumulate);

struct GemmKernel {
  int mr;  // rows of C per tile
  int nr;  // columns of C per tile (a multiple of the vector width)
  MicroKernel run;
  const char* name;  // e.g. "avx2 6x16"
};

}  // namespace pfld::kernels
