// Fully connected layer. The input (N, ...) is read as N rows of its remaining elements, so an
// (N, 1, 1, C) pooled feature map feeds it directly; the output is (N, out).
#pragma once

#include "../kernels/ref/linear.hpp"
#include "layer.hpp"
#include "weight_and_bias.hpp"

namespace pfld::nn {

class Linear : public Layer {
 public:
  Linear(int in_features, int out_features, bool bias = true)
      : in_(in_features), out_(out_features), params_(checked_weight_shape(in_features, out_features), out_features, bias) {}

  int in_features() const { return in_; }
  int out_features() const { return out_; }
  bool has_bias() const { return params_.has_bias(); }
  Tensor& weight() { return params_.weight; }
  Tensor& bias() { return params_.bias; }
  const Tensor& input() const { return input_; }  // the last forward's input, rows of in_features()

  const Tensor& forward(const Tensor& x) override {
    detail::require(x.rank() >= 1 && x.dim(0) > 0 && x.numel() == static_cast<std::size_t>(x.dim(0)) * in_, "Linear(",
                    in_, "->", out_, "): input ", x.shape().str(), " does not hold ", in_, " features per sample");
    const int rows = x.dim(0);
    ensure_shape(output_, Shape{rows, out_});
    kernels::ref::linear_forward(rows, in_, out_, x.data(), params_.weight.data(), params_.bias_or_null(),
                                 output_.data());
    input_ = x;
    return output_;
  }

  const Tensor& backward(const Tensor& dy) override {
    require_shape(dy, output_.shape(), "Linear backward: gradient");
    const int rows = input_.dim(0);
    ensure_shape(input_grad_, input_.shape());
    kernels::ref::linear_backward_input(rows, in_, out_, dy.data(), params_.weight.data(), input_grad_.data());
    kernels::ref::linear_backward_weights(rows, in_, out_, input_.data(), dy.data(), params_.weight_grad.data(),
                                          params_.bias_grad_or_null());
    return input_grad_;
  }

  std::vector<Parameter> parameters() override { return params_.parameters(); }
  void reset_parameters(Rng& rng) override { params_.reset(in_, rng); }

 private:
  static Shape checked_weight_shape(int in, int out) {
    detail::require(in > 0 && out > 0, "Linear: feature counts must be positive, got ", in, " -> ", out);
    return Shape{out, in};
  }

  int in_, out_;
  WeightAndBias params_;
  Tensor input_, output_, input_grad_;
};

}  // namespace pfld::nn
