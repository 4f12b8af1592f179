// Comparing tensors in tests.
#pragma once

#include <algorithm>
#include <cmath>

#include <pfld/core/error.hpp>
#include <pfld/core/tensor.hpp>

namespace pfld::test {

// max |a - b| / max(max |b|, 1): the relative error of `actual` against `expected` at the scale of the
// expected tensor, so near-zero entries do not blow it up. Infinite when any difference is not finite.
inline double relative_error(const Tensor& actual, const Tensor& expected) {
  detail::require(actual.shape() == expected.shape(), "compare: shape ", actual.shape().str(), " vs expected ",
                  expected.shape().str());
  double diff = 0.0, scale = 1.0;
  for (std::size_t i = 0; i < actual.numel(); ++i) {
    const double d = std::abs(static_cast<double>(actual[i]) - expected[i]);
    if (!std::isfinite(d)) return HUGE_VAL;  // NaN would slip through std::max
    diff = std::max(diff, d);
    scale = std::max(scale, std::abs(static_cast<double>(expected[i])));
  }
  return diff / scale;
}

}  // namespace pfld::test
