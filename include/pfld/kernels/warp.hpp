// The crop warp's SIMD path (warp_simd.inc): which ISA and image take it, and the call into the ISA's.
#pragma once

#include "../core/cpu.hpp"
#include "avx2/simd_kernels.hpp"
#include "dispatch.hpp"
#include "warp_geometry.hpp"

namespace pfld::kernels {

// Whether `isa` takes the vector warp for this image (KernelTable::warp_gathers: AVX2 gathers the
// pixels of three-channel images, on AVX-512 CPUs too). NEON has no gather and the reference is the
// scalar warp itself, so they, grey images and images too large for 32-bit offsets take the caller's
// scalar path.
inline bool warp_supported(Isa isa, const WarpGeometry& g) { return kernel_table(isa).warp_gathers && g.offsets_fit(); }

// Fills g.out; `scalar(u, v, rgb)` samples the pixels the vectors do not (see warp_simd.inc). Only
// where warp_supported(isa, g) for some isa.
template <class Scalar>
void warp_rgb(const WarpGeometry& g, Scalar&& scalar) {
#if defined(PFLD_COMPILE_AVX2)
  avx2::warp_rgb(g, scalar);
#else
  (void)g, (void)scalar;
#endif
}

}  // namespace pfld::kernels
