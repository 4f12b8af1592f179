// Learning-rate schedules: constant, step decay or cosine, each with an optional linear warm-up.
#pragma once

#include <cmath>
#include <string>

#include "../core/error.hpp"

namespace pfld::train {

struct LrSchedule {
  enum class Kind { constant, step, cosine };

  Kind kind = Kind::cosine;
  float base_lr = 1e-3f;
  int total_steps = 1;     // cosine: the step at which min_lr is reached
  int warmup_steps = 0;    // linear ramp from base_lr / warmup_steps up to base_lr
  int step_every = 1000;   // step: multiply by step_gamma every step_every steps (after warm-up)
  float step_gamma = 0.1f;
  float min_lr = 0.0f;     // cosine floor

  // The learning rate for update number `step` (0-based).
  float at(int step) const {
    detail::require(step >= 0, "LrSchedule: negative step ", step);
    if (step < warmup_steps) return base_lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
    const int t = step - warmup_steps;
    switch (kind) {
      case Kind::step: return base_lr * std::pow(step_gamma, static_cast<float>(t / std::max(1, step_every)));
      case Kind::cosine: {
        const int span = std::max(1, total_steps - warmup_steps);
        const double progress = std::min(1.0, static_cast<double>(t) / span);
        return static_cast<float>(min_lr + 0.5 * (base_lr - min_lr) * (1.0 + std::cos(3.141592653589793 * progress)));
      }
      default: return base_lr;
    }
  }

  static Kind parse_kind(const std::string& name) {
    if (name == "constant") return Kind::constant;
    if (name == "step") return Kind::step;
    if (name == "cosine") return Kind::cosine;
    detail::fail("unknown learning-rate schedule '", name, "' (expected constant, step or cosine)");
  }
};

}  // namespace pfld::train
