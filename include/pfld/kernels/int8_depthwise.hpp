// The int8 depthwise convolution (int8_depthwise_simd.inc): unsigned 8-bit activations, signed 8-bit
// weights per channel, requantized to unsigned 8-bit outputs like the int8 GEMM. Weights are packed
// once (Int8DepthwiseWeights); the kernel is kernel_table(isa).int8_depthwise_rows.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "../core/cpu.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "conv_geometry.hpp"
#include "dispatch.hpp"
#include "int8_gemm_kernel.hpp"

namespace pfld::kernels {

// A depthwise layer's int8 weights as the kernels read them: (taps, cp) floats holding the whole
// numbers, cp the channels rounded up to 16. Immutable once built; safe to share between threads.
class Int8DepthwiseWeights {
 public:
  Int8DepthwiseWeights() = default;
  // weights: OHWI with one input per group (C x KH x KW x 1). Requires a depthwise g (groups = in_c = out_c).
  Int8DepthwiseWeights(const ConvGeometry& g, const std::int8_t* weights)
      : stride_((static_cast<std::size_t>(g.out_c) + 15) / 16 * 16) {
    detail::require(g.groups == g.in_c && g.in_c == g.out_c && g.in_c >= 1,
                    "Int8DepthwiseWeights: not a depthwise layer (groups ", g.groups, ", ", g.in_c, " -> ", g.out_c, ")");
    const std::size_t taps = static_cast<std::size_t>(g.kernel_h) * static_cast<std::size_t>(g.kernel_w);
    packed_ = Tensor(Shape{static_cast<int>(taps * stride_)});
    for (int c = 0; c < g.out_c; ++c)
      for (std::size_t t = 0; t < taps; ++t)
        packed_[t * stride_ + static_cast<std::size_t>(c)] = weights[static_cast<std::size_t>(c) * taps + t];
  }
  const float* data() const { return packed_.data(); }
  std::size_t stride() const { return stride_; }

 private:
  std::size_t stride_ = 0;
  Tensor packed_;
};

// y = requantize(depthwise(x - zero, w)) for output rows [row_lo, row_hi) of the batch x out_h rows (all
// by default): x and y NHWC bytes, channels dense; `zero` x's zero point (also the padding's value);
// e's scale and shift per channel, residual optional, offset unused. Allocates nothing.
inline void int8_depthwise_forward(Isa isa, const ConvGeometry& g, const std::uint8_t* x, int zero,
                                   const Int8DepthwiseWeights& w, const Int8Requantize& e, std::uint8_t* y,
                                   std::size_t row_lo = 0, std::size_t row_hi = static_cast<std::size_t>(-1)) {
  detail::require(zero >= 0 && zero <= 255, "int8 depthwise: zero point ", zero, " outside [0, 255]");
  row_hi = std::min(row_hi, static_cast<std::size_t>(g.batch) * static_cast<std::size_t>(g.out_h()));
  if (row_lo >= row_hi) return;
  kernel_table(isa).int8_depthwise_rows(g, x, static_cast<float>(zero), w.data(), w.stride(), e, y, row_lo, row_hi);
}

}  // namespace pfld::kernels
