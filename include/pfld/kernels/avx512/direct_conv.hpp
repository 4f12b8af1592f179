// AVX-512 direct convolution kernels: direct_conv_simd.inc over 16-float zmm vectors.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../activation.hpp"
#include "../conv_geometry.hpp"
#include "vector.hpp"

#if defined(PFLD_ARCH_X86_64)
// Every function defined in this region carries the target, inline ones included (see DESIGN.md 5).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,fma")
#endif

namespace pfld::kernels::avx512 {

#include "../direct_conv_simd.inc"

}  // namespace pfld::kernels::avx512

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#endif
