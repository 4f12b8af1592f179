// Convolution (no bias) + batch norm + activation: the unit every PFLD stage is built from.
#pragma once

#include "../nn/activation.hpp"
#include "../nn/batch_norm.hpp"
#include "../nn/composite.hpp"
#include "../nn/conv2d.hpp"

namespace pfld::model {

class ConvBnAct : public nn::Composite {
 public:
  ConvBnAct(int in_channels, int out_channels, int kernel, int stride, int padding, int groups, Activation act)
      : conv_(in_channels, out_channels, kernel, stride, padding, groups, false), bn_(out_channels), act_(act) {
    register_child("conv", conv_);
    register_child("bn", bn_);
  }

  nn::Conv2d& conv() { return conv_; }
  nn::BatchNorm& bn() { return bn_; }
  Activation activation() const { return act_.kind(); }

  const Tensor& forward(const Tensor& x) override {
    const Tensor& normalised = bn_.forward(conv_.forward(x));
    return act_.kind() == Activation::identity ? normalised : act_.forward(normalised);
  }

  const Tensor& backward(const Tensor& dy) override {
    const Tensor& d_normalised = act_.kind() == Activation::identity ? dy : act_.backward(dy);
    return conv_.backward(bn_.backward(d_normalised));
  }

 private:
  nn::Conv2d conv_;
  nn::BatchNorm bn_;
  nn::ActivationLayer act_;
};

}  // namespace pfld::model
