// The activations PFLD uses; kernels apply them in their epilogue, layers apply them on their own.
#pragma once

#include <algorithm>
#include <limits>

namespace pfld {

enum class Activation { identity, relu, relu6 };

inline const char* to_string(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::relu6: return "relu6";
    default: return "identity";
  }
}

inline float activate(Activation a, float x) {
  switch (a) {
    case Activation::relu: return std::max(x, 0.0f);
    case Activation::relu6: return std::min(std::max(x, 0.0f), 6.0f);
    default: return x;
  }
}

// Every PFLD activation is a clamp to [lo, hi]; fused epilogues take it in that form.
struct Clamp {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
};

inline Clamp clamp_of(Activation a) {
  switch (a) {
    case Activation::relu: return {0.0f, std::numeric_limits<float>::infinity()};
    case Activation::relu6: return {0.0f, 6.0f};
    default: return {};
  }
}

// d activate(x) / dx, taken from the pre-activation input. At the kinks (0, 6) it is 0, as in PyTorch.
inline float activation_slope(Activation a, float x) {
  switch (a) {
    case Activation::relu: return x > 0.0f ? 1.0f : 0.0f;
    case Activation::relu6: return (x > 0.0f && x < 6.0f) ? 1.0f : 0.0f;
    default: return 1.0f;
  }
}

}  // namespace pfld
