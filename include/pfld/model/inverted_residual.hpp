// MobileNetV2's inverted residual (bottleneck) block: 1x1 expand + BN + act, depthwise 3x3 + BN + act,
// 1x1 project + BN (linear), plus the input when the block keeps the shape and is not a stage's first.
#pragma once

#include "conv_bn_act.hpp"

namespace pfld::model {

class InvertedResidual : public nn::Composite {
 public:
  InvertedResidual(int in_channels, int out_channels, int stride, int expansion, bool residual, Activation act)
      : expand_(in_channels, in_channels * expansion, 1, 1, 0, 1, act),
        depthwise_(in_channels * expansion, in_channels * expansion, 3, stride, 1, in_channels * expansion, act),
        project_(in_channels * expansion, out_channels, 1, 1, 0, 1, Activation::identity),
        residual_(residual) {
    detail::require(!residual || (stride == 1 && in_channels == out_channels), "InvertedResidual: a shortcut needs ",
                    "stride 1 and equal channels, got stride ", stride, ", ", in_channels, " -> ", out_channels);
    register_child("expand", expand_);
    register_child("depthwise", depthwise_);
    register_child("project", project_);
  }

  bool has_residual() const { return residual_; }
  ConvBnAct& expand() { return expand_; }
  ConvBnAct& depthwise() { return depthwise_; }
  ConvBnAct& project() { return project_; }

  const Tensor& forward(const Tensor& x) override {
    const Tensor& projected = project_.forward(depthwise_.forward(expand_.forward(x)));
    if (!residual_) return projected;
    ensure_shape(output_, projected.shape());
    kernels::ref::add(x.numel(), x.data(), projected.data(), output_.data());
    return output_;
  }

  const Tensor& backward(const Tensor& dy) override {
    const Tensor& dx = expand_.backward(depthwise_.backward(project_.backward(dy)));
    if (!residual_) return dx;
    ensure_shape(input_grad_, dx.shape());
    kernels::ref::add(dx.numel(), dx.data(), dy.data(), input_grad_.data());
    return input_grad_;
  }

 private:
  ConvBnAct expand_, depthwise_, project_;
  bool residual_;
  Tensor output_, input_grad_;
};

}  // namespace pfld::model
