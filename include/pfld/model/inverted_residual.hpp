// MobileNetV2's inverted residual (bottleneck) block: 1x1 expand + BN + act, depthwise 3x3 + BN + act,
// 1x1 project + BN (linear), plus the input when the block keeps the shape and is not a stage's first.
#pragma once

#include "conv_bn_act.hpp"

namespace pfld::model {

class InvertedResidual : public nn::Composite {
 public:
  explicit InvertedResidual(const BottleneckUnit& unit)
      : expand_(unit.expand), depthwise_(unit.depthwise), project_(unit.project), residual_(unit.residual) {
    detail::require(!residual_ || (unit.depthwise.stride == 1 && unit.expand.in == unit.project.out), unit.name,
                    ": a shortcut needs stride 1 and equal channels, got stride ", unit.depthwise.stride, ", ",
                    unit.expand.in, " -> ", unit.project.out);
    register_child("expand", expand_);
    register_child("depthwise", depthwise_);
    register_child("project", project_);
  }
  InvertedResidual(int in_channels, int out_channels, int stride, int expansion, bool residual, Activation act)
      : InvertedResidual(BottleneckUnit::make("block", in_channels, out_channels, stride, expansion, residual, act)) {}

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
