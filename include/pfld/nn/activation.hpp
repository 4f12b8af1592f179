// ReLU and ReLU6 as standalone layers (the fused inference path applies them in kernel epilogues).
#pragma once

#include "../kernels/ref/elementwise.hpp"
#include "layer.hpp"

namespace pfld::nn {

class ActivationLayer : public Layer {
 public:
  explicit ActivationLayer(Activation kind) : kind_(kind) {}

  Activation kind() const { return kind_; }

  const Tensor& forward(const Tensor& x) override {
    ensure_shape(output_, x.shape());
    kernels::ref::activation_forward(kind_, x.numel(), x.data(), output_.data());
    input_ = x;
    return output_;
  }

  const Tensor& backward(const Tensor& dy) override {
    require_shape(dy, output_.shape(), "activation backward: gradient");
    ensure_shape(input_grad_, input_.shape());
    kernels::ref::activation_backward(kind_, dy.numel(), input_.data(), dy.data(), input_grad_.data());
    return input_grad_;
  }

 private:
  Activation kind_;
  Tensor input_, output_, input_grad_;
};

inline ActivationLayer ReLU() { return ActivationLayer(Activation::relu); }
inline ActivationLayer ReLU6() { return ActivationLayer(Activation::relu6); }

}  // namespace pfld::nn
