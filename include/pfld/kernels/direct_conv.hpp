// Direct dense convolution for layers with few input channels (direct_conv_simd.inc): the inference
// engine's stem. Weights are packed once into DirectConvWeights; the forward takes rows of the output
// so a caller can split or interleave the work.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "../core/cpu.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "activation.hpp"
#include "conv_geometry.hpp"
#include "dispatch.hpp"

namespace pfld::kernels {

// Whether a dense layer is better computed directly than by im2col + GEMM: few input channels, so a
// receptive field is short and the GEMM's product would be thin (the PFLD and YuNet stems: 3 input
// channels, 3x3 stride 2; pfld_bench forward/... conv1).
inline bool direct_conv_suits(const ConvGeometry& g) {
  return g.groups == 1 && g.in_c <= 4 && !(g.kernel_h == 1 && g.kernel_w == 1);
}

// OHWI weights and a bias, folded and packed for direct_conv_forward.
class DirectConvWeights {
 public:
  DirectConvWeights() = default;
  // weights: OHWI (out_c x KH x KW x C_in); bias: out_c values, or null for none.
  DirectConvWeights(const ConvGeometry& g, const float* weights, const float* bias)
      : stride_((static_cast<std::size_t>(g.out_c) + 15) / 16 * 16) {
    detail::require(g.groups == 1, "DirectConvWeights: grouped convolution (groups=", g.groups, ")");
    const std::size_t patch = static_cast<std::size_t>(g.kernel_h) * g.kernel_w * g.in_c;
    packed_ = Tensor(Shape{static_cast<int>(patch * stride_)});
    bias_ = Tensor(Shape{static_cast<int>(stride_)});
    for (int co = 0; co < g.out_c; ++co) {
      for (std::size_t k = 0; k < patch; ++k)
        packed_[k * stride_ + static_cast<std::size_t>(co)] = weights[static_cast<std::size_t>(co) * patch + k];
      if (bias) bias_[static_cast<std::size_t>(co)] = bias[co];
    }
  }

  const float* weights() const { return packed_.data(); }
  const float* bias() const { return bias_.data(); }
  std::size_t stride() const { return stride_; }  // floats per packed row: out_c rounded up to 16
  std::size_t bytes() const { return (packed_.numel() + bias_.numel()) * sizeof(float); }
  // The tensors holding weights and bias, for moving them elsewhere (gather_onto_huge_pages).
  std::vector<Tensor*> storage() { return {&packed_, &bias_}; }

 private:
  std::size_t stride_ = 0;
  Tensor packed_, bias_;  // (a Tensor for its 64-byte alignment: a row of weights is whole vectors)
};

// y = clamp(conv(x, w) + bias), NHWC, for output rows [row_lo, row_hi) of the batch x out_h rows (all
// by default). Allocates nothing.
inline void direct_conv_forward(Isa isa, const ConvGeometry& g, const float* x, const DirectConvWeights& w,
                                const Clamp& clamp, float* y, std::size_t row_lo = 0,
                                std::size_t row_hi = static_cast<std::size_t>(-1)) {
  row_hi = std::min(row_hi, static_cast<std::size_t>(g.batch) * g.out_h());
  if (row_lo >= row_hi) return;
  kernel_table(isa).direct_conv_forward_rows(g, x, w.weights(), w.stride(), w.bias(), clamp, y, row_lo, row_hi);
}

}  // namespace pfld::kernels
