// Optimisers: SGD with momentum, Adam and AdamW. State is kept per parameter name, so a checkpoint can
// save and restore it (state()).
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../nn/layer.hpp"

namespace pfld::train {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;

  // One update of every parameter from its accumulated gradient at learning rate lr.
  virtual void step(const std::vector<nn::Parameter>& params, float lr) = 0;

  // The state tensors for these parameters, named "<parameter>.<slot>", created (zero) if missing.
  std::vector<std::pair<std::string, Tensor*>> state(const std::vector<nn::Parameter>& params) {
    std::vector<std::pair<std::string, Tensor*>> out;
    for (const auto& p : params)
      for (const std::string& slot : slot_names()) out.emplace_back(p.name + "." + slot, &slot_for(p, slot));
    return out;
  }

  // Updates done so far (Adam's bias correction depends on it).
  std::int64_t steps() const { return steps_; }
  void set_steps(std::int64_t steps) { steps_ = steps; }

 protected:
  virtual std::vector<std::string> slot_names() const = 0;

  Tensor& slot_for(const nn::Parameter& p, const std::string& slot) {
    Tensor& t = slots_[p.name + "." + slot];
    if (t.shape() != p.value->shape()) t = Tensor(p.value->shape());
    return t;
  }

  static void check_finite_lr(float lr) {
    detail::require(std::isfinite(lr) && lr >= 0.0f, "optimizer: learning rate ", lr, " is not finite and >= 0");
  }

  std::int64_t steps_ = 0;

 private:
  std::map<std::string, Tensor> slots_;
};

// v = momentum * v + (g + weight_decay * w);  w -= lr * v   (PyTorch's SGD, dampening 0).
class Sgd : public Optimizer {
 public:
  explicit Sgd(float momentum = 0.9f, float weight_decay = 0.0f) : momentum_(momentum), weight_decay_(weight_decay) {}

  std::string name() const override { return "sgd"; }

  void step(const std::vector<nn::Parameter>& params, float lr) override {
    check_finite_lr(lr);
    for (const auto& p : params) {
      Tensor& v = slot_for(p, "momentum");
      float* w = p.value->data();
      const float* g = p.grad->data();
      for (std::size_t i = 0; i < p.value->numel(); ++i) {
        v[i] = momentum_ * v[i] + g[i] + weight_decay_ * w[i];
        w[i] -= lr * v[i];
      }
    }
    ++steps_;
  }

 protected:
  std::vector<std::string> slot_names() const override { return {"momentum"}; }

 private:
  float momentum_, weight_decay_;
};

// Adam (Kingma & Ba) with bias correction. weight decay is L2 added to the gradient (Adam) or, with
// decoupled = true, applied to the weights directly (AdamW, Loshchilov & Hutter).
class Adam : public Optimizer {
 public:
  explicit Adam(float weight_decay = 0.0f, bool decoupled = true, float beta1 = 0.9f, float beta2 = 0.999f,
                float eps = 1e-8f)
      : weight_decay_(weight_decay), decoupled_(decoupled), beta1_(beta1), beta2_(beta2), eps_(eps) {}

  std::string name() const override { return decoupled_ ? "adamw" : "adam"; }

  void step(const std::vector<nn::Parameter>& params, float lr) override {
    check_finite_lr(lr);
    ++steps_;
    const double t = static_cast<double>(steps_);
    const float correction1 = static_cast<float>(1.0 - std::pow(beta1_, t));
    const float correction2 = static_cast<float>(1.0 - std::pow(beta2_, t));
    const float step_size = lr / correction1;
    const float inv_sqrt_correction2 = 1.0f / std::sqrt(correction2);
    for (const auto& p : params) {
      Tensor& m = slot_for(p, "m");
      Tensor& v = slot_for(p, "v");
      float* w = p.value->data();
      const float* grad = p.grad->data();
      for (std::size_t i = 0; i < p.value->numel(); ++i) {
        float g = grad[i];
        if (decoupled_)
          w[i] -= lr * weight_decay_ * w[i];
        else
          g += weight_decay_ * w[i];
        m[i] = beta1_ * m[i] + (1.0f - beta1_) * g;
        v[i] = beta2_ * v[i] + (1.0f - beta2_) * g * g;
        w[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_correction2 + eps_);
      }
    }
  }

 protected:
  std::vector<std::string> slot_names() const override { return {"m", "v"}; }

 private:
  float weight_decay_;
  bool decoupled_;
  float beta1_, beta2_, eps_;
};

}  // namespace pfld::train
