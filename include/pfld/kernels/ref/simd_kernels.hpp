// The kernels written once over V (the *_simd.inc files: batch norm, depthwise, direct convolution,
// element-wise, int8 depthwise and element-wise) over plain floats, a vector of width 1: the inference
// engine's path when the scalar reference ISA is forced, and on CPUs without a SIMD path.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "../activation.hpp"
#include "../conv_geometry.hpp"
#include "../int8_gemm_kernel.hpp"
#include "vector.hpp"

namespace pfld::kernels::ref {

#include "../batch_norm_simd.inc"
#include "../elementwise_simd.inc"
#include "../depthwise_simd.inc"
#include "../direct_conv_simd.inc"
#include "../int8_depthwise_simd.inc"
#include "../int8_elementwise_simd.inc"

}  // namespace pfld::kernels::ref
