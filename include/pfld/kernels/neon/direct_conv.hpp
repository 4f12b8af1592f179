// NEON (AArch64) direct convolution kernels: direct_conv_simd.inc over 4-float q vectors.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../activation.hpp"
#include "../conv_geometry.hpp"
#include "vector.hpp"

#if defined(PFLD_ARCH_AARCH64)

namespace pfld::kernels::neon {

#include "../direct_conv_simd.inc"

}  // namespace pfld::kernels::neon

#endif
