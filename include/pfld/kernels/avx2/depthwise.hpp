// AVX2 + FMA depthwise kernels: depthwise_simd.inc over 8-float ymm vectors.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../activation.hpp"
#include "../conv_geometry.hpp"
#include "vector.hpp"

#if defined(PFLD_ARCH_X86_64)
// Every function defined in this region carries the target, inline ones included (see DESIGN.md 5).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace pfld::kernels::avx2 {

#include "../depthwise_simd.inc"

}  // namespace pfld::kernels::avx2

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#endif
