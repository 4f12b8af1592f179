// Concatenation along the channel (last) axis: PFLD's multi-scale head joins S1, S2 and S3 this way.
#pragma once

#include <vector>

#include "../kernels/ref/elementwise.hpp"
#include "../core/tensor.hpp"

namespace pfld::nn {

class Concat {
 public:
  // All inputs share every dimension but the last.
  const Tensor& forward(const std::vector<Tensor>& inputs) {
    detail::require(!inputs.empty(), "Concat: no inputs");
    const Shape& first = inputs[0].shape();
    int total = 0;
    widths_.clear();
    for (const Tensor& t : inputs) {
      bool same_lead = t.rank() == first.rank();
      for (int a = 0; same_lead && a + 1 < first.rank(); ++a) same_lead = t.dim(a) == first[a];
      detail::require(same_lead && t.rank() >= 1, "Concat: input ", t.shape().str(), " does not match ", first.str(),
                      " outside the last axis");
      widths_.push_back(t.shape().back());
      total += t.shape().back();
    }
    ensure_shape(output_, first.with(first.rank() - 1, total));
    rows_ = first.back() ? inputs[0].numel() / static_cast<std::size_t>(first.back()) : 0;
    int offset = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      kernels::ref::copy_columns_in(rows_, widths_[i], total, offset, inputs[i].data(), output_.data());
      offset += widths_[i];
    }
    return output_;
  }

  // One gradient per input, in input order.
  const std::vector<Tensor>& backward(const Tensor& dy) {
    require_shape(dy, output_.shape(), "Concat backward: gradient");
    input_grads_.resize(widths_.size());
    int offset = 0;
    for (std::size_t i = 0; i < widths_.size(); ++i) {
      ensure_shape(input_grads_[i], dy.shape().with(dy.rank() - 1, widths_[i]));
      kernels::ref::copy_columns_out(rows_, widths_[i], dy.shape().back(), offset, dy.data(), input_grads_[i].data());
      offset += widths_[i];
    }
    return input_grads_;
  }

 private:
  std::vector<int> widths_;
  std::size_t rows_ = 0;
  Tensor output_;
  std::vector<Tensor> input_grads_;
};

}  // namespace pfld::nn
