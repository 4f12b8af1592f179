// The kernels written once over V (batch_norm_simd.inc, depthwise_simd.inc, direct_conv_simd.inc,
// int8_depthwise_simd.inc, elementwise_simd.inc) over plain floats, a vector of width 1: the inference engine's path when the
// scalar reference ISA is forced, and on CPUs without a SIMD path.
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

}  // namespace pfld::kernels::ref
