// NEON (AArch64) depthwise kernels: depthwise_simd.inc over 4-float q vectors.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../activation.hpp"
#include "../conv_geometry.hpp"
#include "vector.hpp"

#if defined(PFLD_ARCH_AARCH64)

namespace pfld::kernels::neon {

#include "../depthwise_simd.inc"

}  // namespace pfld::kernels::neon

#endif
