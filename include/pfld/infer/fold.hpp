// Batch norm folded into the convolution before it, the one fold every path uses (pfld's own networks
// at build time, ONNX import and export): y = conv(x, w * s) + (b - mean) * s + beta per output
// channel, s = gamma / sqrt(var + eps). Computed in double so each folded number rounds once.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "../core/error.hpp"

namespace pfld {
inline namespace infer {

// weights: out x per_out floats, each output channel's weights contiguous (OHWI and OIHW alike), scaled
// in place; bias: the out channels' conv bias (zeros for a conv without one), replaced by the folded
// bias. gamma, beta, mean and var hold `out` values each. `what` names the layer in the Error thrown
// when a channel does not fold to finite numbers (a variance of -eps, say).
inline void fold_batch_norm(std::vector<float>& weights, std::vector<float>& bias, const float* gamma, const float* beta,
                            const float* mean, const float* var, double eps, const std::string& what) {
  const std::size_t out = bias.size();
  detail::require(out > 0 && weights.size() % out == 0, what, ": ", weights.size(), " weights for ", out, " channels");
  const std::size_t per_out = weights.size() / out;
  for (std::size_t c = 0; c < out; ++c) {
    const double s = static_cast<double>(gamma[c]) / std::sqrt(static_cast<double>(var[c]) + eps);
    const double b = (static_cast<double>(bias[c]) - static_cast<double>(mean[c])) * s + static_cast<double>(beta[c]);
    detail::require(std::isfinite(s) && std::isfinite(b), what, ": channel ", c, " does not fold to finite numbers (variance ",
                    var[c], ", epsilon ", eps, ")");
    for (std::size_t k = 0; k < per_out; ++k)
      weights[c * per_out + k] = static_cast<float>(static_cast<double>(weights[c * per_out + k]) * s);
    bias[c] = static_cast<float>(b);
  }
}

}  // namespace infer
}  // namespace pfld
