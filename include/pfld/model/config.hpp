// What defines a PFLD network: width multiplier, landmark count, input size, activation.
#pragma once

#include <cmath>
#include <string>

#include "../core/error.hpp"
#include "../kernels/activation.hpp"

namespace pfld {

struct ModelConfig {
  // Scales the 64/128 channels of the stem and stages 3-5 (1.0 = "1X", 0.25 = "0.25X"). The head
  // (S1 16, S2 32, S3 128) and the auxiliary net keep their widths.
  float width = 1.0f;
  int landmarks = 68;
  // The paper's 112x112 crop. The head's valid 7x7 convolution needs input_size / 16 == 7.
  int input_size = 112;
  // ReLU as in the paper; ReLU6 for models imported from MobileNet-style exports; identity makes the
  // network smooth, which only the whole-network gradient check wants.
  Activation activation = Activation::relu;

  // A channel count of the backbone scaled by the width multiplier (at least 1).
  int scaled(int base_channels) const {
    return std::max(1, static_cast<int>(std::lround(static_cast<double>(base_channels) * width)));
  }

  void validate() const {
    detail::require(std::isfinite(width) && width > 0.0f && width <= 8.0f, "model config: width ", width,
                    " outside (0, 8]");
    detail::require(landmarks >= 1 && landmarks <= 10000, "model config: landmark count ", landmarks,
                    " outside [1, 10000]");
    detail::require(input_size == 112, "model config: input size ", input_size,
                    " unsupported (PFLD's head needs 112: the 7x7 valid convolution sees a 7x7 map)");
    detail::require(activation == Activation::relu || activation == Activation::relu6 ||
                        activation == Activation::identity,
                    "model config: activation must be relu, relu6 or identity");
  }

  ModelConfig validated() const {
    validate();
    return *this;
  }

  bool operator==(const ModelConfig& o) const {
    return width == o.width && landmarks == o.landmarks && input_size == o.input_size && activation == o.activation;
  }
  bool operator!=(const ModelConfig& o) const { return !(*this == o); }

  std::string str() const {
    return detail::cat("width ", width, ", ", landmarks, " landmarks, input ", input_size, ", ", to_string(activation));
  }
};

}  // namespace pfld
