// Weight initialisation.
#pragma once

#include <cmath>

#include "../core/rng.hpp"
#include "../core/tensor.hpp"

namespace pfld::nn {

// He (Kaiming) normal initialisation for layers followed by ReLU: N(0, 2 / fan_in), fan_in being the
// number of inputs that feed one output (kernel_h * kernel_w * in_channels / groups for a convolution).
inline void he_normal(Tensor& weights, int fan_in, Rng& rng) {
  detail::require(fan_in > 0, "he_normal: fan_in must be positive, got ", fan_in);
  const float stddev = std::sqrt(2.0f / static_cast<float>(fan_in));
  for (float& w : weights) w = rng.normal(0.0f, stddev);
}

}  // namespace pfld::nn
