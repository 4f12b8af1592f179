// Convolution (no bias) + batch norm + activation: the unit every PFLD stage is built from. The
// activation runs inside the batch norm's passes.
#pragma once

#include "../nn/batch_norm.hpp"
#include "../nn/composite.hpp"
#include "../nn/conv2d.hpp"
#include "architecture.hpp"

namespace pfld::model {

class ConvBnAct : public nn::Composite {
 public:
  ConvBnAct(int in_channels, int out_channels, int kernel, int stride, int padding, int groups, Activation act)
      : conv_(in_channels, out_channels, kernel, stride, padding, groups, false), bn_(out_channels, 0.1f, ConvUnit::kBatchNormEps, act) {
    register_child("conv", conv_);
    register_child("bn", bn_);
  }
  explicit ConvBnAct(const ConvUnit& u)
      : ConvBnAct(u.in, u.out, u.kernel, u.stride, u.padding, u.groups, u.activation) {}

  nn::Conv2d& conv() { return conv_; }
  nn::BatchNorm& bn() { return bn_; }
  Activation activation() const { return bn_.activation(); }

  const Tensor& forward(const Tensor& x) override { return bn_.forward(conv_.forward(x)); }
  const Tensor& backward(const Tensor& dy) override { return conv_.backward(bn_.backward(dy)); }

 private:
  nn::Conv2d conv_;
  nn::BatchNorm bn_;
};

}  // namespace pfld::model
