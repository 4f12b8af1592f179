// Max pooling over NHWC batches (the auxiliary pose net pools its last feature map to 1x1).
#pragma once

#include <cstdint>
#include <vector>

#include "../kernels/ref/pooling.hpp"
#include "layer.hpp"

namespace pfld::nn {

class MaxPool2d : public Layer {
 public:
  explicit MaxPool2d(int kernel, int stride = -1, int padding = 0)
      : kernel_(kernel), stride_(stride < 0 ? kernel : stride), pad_(padding) {
    detail::require(kernel_ >= 1 && stride_ >= 1 && pad_ >= 0 && 2 * pad_ <= kernel_, "MaxPool2d: bad kernel ",
                    kernel_, " stride ", stride_, " padding ", pad_);
  }

  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  int padding() const { return pad_; }

  const Tensor& forward(const Tensor& x) override {
    require_rank(x, 4, "MaxPool2d input");
    kernels::ref::PoolGeometry g;
    g.batch = x.dim(0);
    g.in_h = x.dim(1);
    g.in_w = x.dim(2);
    g.channels = x.dim(3);
    g.kernel = kernel_;
    g.stride = stride_;
    g.pad = pad_;
    detail::require(g.in_h + 2 * pad_ >= kernel_ && g.in_w + 2 * pad_ >= kernel_ && x.numel() > 0, "MaxPool2d(k",
                    kernel_, "): input ", x.shape().str(), " smaller than the window");
    ensure_shape(output_, Shape{g.batch, g.out_h(), g.out_w(), g.channels});
    argmax_.resize(output_.numel());
    kernels::ref::max_pool_forward(g, x.data(), output_.data(), argmax_.data());
    input_shape_ = x.shape();
    return output_;
  }

  const Tensor& backward(const Tensor& dy) override {
    require_shape(dy, output_.shape(), "MaxPool2d backward: gradient");
    ensure_shape(input_grad_, input_shape_);
    kernels::ref::max_pool_backward(dy.numel(), input_grad_.numel(), dy.data(), argmax_.data(), input_grad_.data());
    return input_grad_;
  }

 private:
  int kernel_, stride_, pad_;
  Shape input_shape_;
  std::vector<std::int64_t> argmax_;
  Tensor output_, input_grad_;
};

}  // namespace pfld::nn
