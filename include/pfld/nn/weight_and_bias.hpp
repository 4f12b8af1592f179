// The trained state of a convolution or FC layer: a weight tensor, an optional bias, their gradients.
#pragma once

#include <vector>

#include "init.hpp"
#include "layer.hpp"

namespace pfld::nn {

class WeightAndBias {
 public:
  WeightAndBias(const Shape& weight_shape, int bias_size, bool with_bias)
      : weight(weight_shape), weight_grad(weight_shape) {
    if (with_bias) {
      bias = Tensor(Shape{bias_size});
      bias_grad = Tensor(Shape{bias_size});
    }
  }

  bool has_bias() const { return !bias.empty(); }
  const float* bias_or_null() const { return has_bias() ? bias.data() : nullptr; }
  float* bias_grad_or_null() { return has_bias() ? bias_grad.data() : nullptr; }

  std::vector<Parameter> parameters() {
    std::vector<Parameter> p{{"weight", &weight, &weight_grad}};
    if (has_bias()) p.push_back({"bias", &bias, &bias_grad});
    return p;
  }

  // He-normal weights for `fan_in` inputs per output, zero bias.
  void reset(int fan_in, Rng& rng) {
    he_normal(weight, fan_in, rng);
    bias.zero();
  }

  Tensor weight, weight_grad, bias, bias_grad;
};

}  // namespace pfld::nn
