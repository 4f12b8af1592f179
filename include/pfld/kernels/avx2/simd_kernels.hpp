// AVX2 + FMA: the kernels written once over V (the *_simd.inc files: batch norm, depthwise, direct
// convolution, element-wise, int8 depthwise and element-wise, warp) instantiated over 8-float ymm
// vectors.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "../activation.hpp"
#include "../conv_geometry.hpp"
#include "../int8_gemm_kernel.hpp"
#include "../warp_geometry.hpp"
#include "vector.hpp"

#if defined(PFLD_COMPILE_AVX2)
#include "target_begin.inc"

namespace pfld::kernels::avx2 {

#include "../batch_norm_simd.inc"
#include "../elementwise_simd.inc"
#include "../depthwise_simd.inc"
#include "../direct_conv_simd.inc"
#if PFLD_KERNELS_INT8
#include "../int8_depthwise_simd.inc"
#include "../int8_elementwise_simd.inc"
#endif
#include "../warp_simd.inc"

}  // namespace pfld::kernels::avx2

#include "target_end.inc"
#endif
