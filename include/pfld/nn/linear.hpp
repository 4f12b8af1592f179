// Fully connected layer. The input (N, ...) is read as N rows of its remaining elements, so an
// (N, 1, 1, C) pooled feature map feeds it directly; the output is (N, out).
#pragma once

#include "../kernels/ref/linear.hpp"
#include "init.hpp"
#include "layer.hpp"

namespace pfld::nn {

class Linear : public Layer {
 public:
  Linear(int in_features, int out_features, bool bias = true) : in_(in_features), out_(out_features) {
    detail::require(in_ > 0 && out_ > 0, "Linear: feature counts must be positive, got ", in_, " -> ", out_);
    weight_ = Tensor(Shape{out_, in_});
    weight_grad_ = Tensor(weight_.shape());
    if (bias) {
      bias_ = Tensor(Shape{out_});
      bias_grad_ = Tensor(bias_.shape());
    }
  }

  int in_features() const { return in_; }
  int out_features() const { return out_; }
  bool has_bias() const { return !bias_.empty(); }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

  const Tensor& forward(const Tensor& x) override {
    detail::require(x.rank() >= 1 && x.dim(0) > 0 && x.numel() == static_cast<std::size_t>(x.dim(0)) * in_, "Linear(",
                    in_, "->", out_, "): input ", x.shape().str(), " does not hold ", in_, " features per sample");
    const int rows = x.dim(0);
    ensure_shape(output_, Shape{rows, out_});
    kernels::ref::linear_forward(rows, in_, out_, x.data(), weight_.data(), has_bias() ? bias_.data() : nullptr,
                                 output_.data());
    input_ = x;
    return output_;
  }

  const Tensor& backward(const Tensor& dy) override {
    require_shape(dy, output_.shape(), "Linear backward: gradient");
    const int rows = input_.dim(0);
    ensure_shape(input_grad_, input_.shape());
    kernels::ref::linear_backward_input(rows, in_, out_, dy.data(), weight_.data(), input_grad_.data());
    kernels::ref::linear_backward_weights(rows, in_, out_, input_.data(), dy.data(), weight_grad_.data(),
                                          has_bias() ? bias_grad_.data() : nullptr);
    return input_grad_;
  }

  std::vector<Parameter> parameters() override {
    std::vector<Parameter> p{{"weight", &weight_, &weight_grad_}};
    if (has_bias()) p.push_back({"bias", &bias_, &bias_grad_});
    return p;
  }

  void reset_parameters(Rng& rng) override {
    he_normal(weight_, in_, rng);
    bias_.zero();
  }

 private:
  int in_, out_;
  Tensor weight_, weight_grad_, bias_, bias_grad_;
  Tensor input_, output_, input_grad_;
};

}  // namespace pfld::nn
