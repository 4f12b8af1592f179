// 2-D convolution layer over NHWC batches: dense, 1x1 (pointwise) and depthwise (groups == channels).
#pragma once

#include "../core/cpu.hpp"
#include "../core/thread_pool.hpp"
#include "../kernels/conv2d.hpp"
#include "layer.hpp"
#include "weight_and_bias.hpp"

namespace pfld::nn {

class Conv2d : public Layer {
 public:
  // Weights are (out_channels, kernel, kernel, in_channels / groups), "OHWI"; zero padding.
  Conv2d(int in_channels, int out_channels, int kernel, int stride = 1, int padding = 0, int groups = 1,
         bool bias = true)
      : in_c_(in_channels),
        out_c_(out_channels),
        kernel_(kernel),
        stride_(stride),
        pad_(padding),
        groups_(groups),
        params_(checked_weight_shape(), out_channels, bias) {}

  static Conv2d pointwise(int in_channels, int out_channels, bool bias = false) {
    return Conv2d(in_channels, out_channels, 1, 1, 0, 1, bias);
  }
  static Conv2d depthwise(int channels, int kernel, int stride, int padding, bool bias = false) {
    return Conv2d(channels, channels, kernel, stride, padding, channels, bias);
  }

  int in_channels() const { return in_c_; }
  int out_channels() const { return out_c_; }
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  int padding() const { return pad_; }
  int groups() const { return groups_; }
  bool has_bias() const { return params_.has_bias(); }
  Tensor& weight() { return params_.weight; }
  Tensor& bias() { return params_.bias; }

  // The geometry for an input of this spatial size.
  ConvGeometry geometry(int batch, int in_h, int in_w) const {
    ConvGeometry g;
    g.batch = batch;
    g.in_h = in_h;
    g.in_w = in_w;
    g.in_c = in_c_;
    g.out_c = out_c_;
    g.kernel_h = g.kernel_w = kernel_;
    g.stride_h = g.stride_w = stride_;
    g.pad_h = g.pad_w = pad_;
    g.groups = groups_;
    return g;
  }

  const Tensor& forward(const Tensor& x) override {
    detail::require(x.rank() == 4 && x.dim(3) == in_c_, "Conv2d(", in_c_, "->", out_c_, ", k", kernel_, "): input ",
                    x.shape().str(), " is not NHWC with ", in_c_, " channels");
    const ConvGeometry g = geometry(x.dim(0), x.dim(1), x.dim(2));
    g.validate();
    ensure_shape(output_, Shape{g.batch, g.out_h(), g.out_w(), g.out_c});
    kernels::conv2d_forward(active_isa(), g, x.data(), params_.weight.data(), params_.bias_or_null(), output_.data(),
                            workspace_, &default_thread_pool());
    input_ = x;
    return output_;
  }

  const Tensor& backward(const Tensor& dy) override {
    require_shape(dy, output_.shape(), "Conv2d backward: gradient");
    const ConvGeometry g = geometry(input_.dim(0), input_.dim(1), input_.dim(2));
    ensure_shape(input_grad_, input_.shape());
    // Weights first: with im2col they read the columns that the input gradient then overwrites.
    kernels::conv2d_backward_weights(active_isa(), g, input_.data(), dy.data(), params_.weight_grad.data(),
                                     params_.bias_grad_or_null(), workspace_, &default_thread_pool());
    kernels::conv2d_backward_input(active_isa(), g, dy.data(), params_.weight.data(), input_grad_.data(), workspace_,
                                   &default_thread_pool());
    return input_grad_;
  }

  std::vector<Parameter> parameters() override { return params_.parameters(); }
  void reset_parameters(Rng& rng) override { params_.reset(kernel_ * kernel_ * (in_c_ / groups_), rng); }

 private:
  // Runs before params_ is built (member order), so a bad configuration never allocates.
  Shape checked_weight_shape() const {
    geometry(1, kernel_, kernel_).validate();
    return Shape{out_c_, kernel_, kernel_, in_c_ / groups_};
  }

  int in_c_, out_c_, kernel_, stride_, pad_, groups_;
  WeightAndBias params_;
  kernels::ConvWorkspace workspace_;
  Tensor input_, output_, input_grad_;
};

}  // namespace pfld::nn
