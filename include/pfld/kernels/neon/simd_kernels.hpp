// NEON (AArch64): the kernels written once over V (batch_norm_simd.inc, depthwise_simd.inc,
// direct_conv_simd.inc, int8_depthwise_simd.inc, elementwise_simd.inc) instantiated over 4-float q vectors.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "../activation.hpp"
#include "../conv_geometry.hpp"
#include "../int8_gemm_kernel.hpp"
#include "vector.hpp"

#if defined(PFLD_ARCH_AARCH64)
namespace pfld::kernels::neon {

#include "../batch_norm_simd.inc"
#include "../elementwise_simd.inc"
#include "../depthwise_simd.inc"
#include "../direct_conv_simd.inc"
#if PFLD_KERNELS_INT8
#include "../int8_depthwise_simd.inc"
#endif

}  // namespace pfld::kernels::neon
#endif
