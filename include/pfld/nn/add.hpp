// Residual add: y = a + b. Its backward hands the same gradient to both branches, so the network
// simply adds the shortcut's gradient into the block input's gradient; this layer exists for the
// forward and for the checks.
#pragma once

#include "../kernels/ref/elementwise.hpp"
#include "../core/tensor.hpp"

namespace pfld::nn {

class Add {
 public:
  const Tensor& forward(const Tensor& a, const Tensor& b) {
    detail::require(a.shape() == b.shape(), "Add: shapes differ, ", a.shape().str(), " vs ", b.shape().str());
    ensure_shape(output_, a.shape());
    kernels::ref::add(a.numel(), a.data(), b.data(), output_.data());
    return output_;
  }

  // d loss / d a and d loss / d b are both dy.
  const Tensor& backward(const Tensor& dy) {
    require_shape(dy, output_.shape(), "Add backward: gradient");
    return dy;
  }

 private:
  Tensor output_;
};

}  // namespace pfld::nn
