// Global average pooling: (N, H, W, C) -> (N, 1, 1, C). PFLD's S1 and S2 features.
#pragma once

#include "../kernels/ref/pooling.hpp"
#include "layer.hpp"

namespace pfld::nn {

class GlobalAvgPool : public Layer {
 public:
  const Tensor& forward(const Tensor& x) override {
    require_rank(x, 4, "GlobalAvgPool input");
    detail::require(x.numel() > 0, "GlobalAvgPool: empty input ", x.shape().str());
    ensure_shape(output_, Shape{x.dim(0), 1, 1, x.dim(3)});
    kernels::ref::global_avg_pool_forward(x.dim(0), x.dim(1) * x.dim(2), x.dim(3), x.data(), output_.data());
    input_shape_ = x.shape();
    return output_;
  }

  const Tensor& backward(const Tensor& dy) override {
    require_shape(dy, output_.shape(), "GlobalAvgPool backward: gradient");
    ensure_shape(input_grad_, input_shape_);
    kernels::ref::global_avg_pool_backward(input_shape_[0], input_shape_[1] * input_shape_[2], input_shape_[3],
                                           dy.data(), input_grad_.data());
    return input_grad_;
  }

 private:
  Shape input_shape_;
  Tensor output_, input_grad_;
};

}  // namespace pfld::nn
