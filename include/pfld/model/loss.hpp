// The PFLD loss (paper Eq. 2) and its ablations.
//
//   L = 1/M sum_m gamma_m ||d_m||^2,   d_m = predicted - true landmarks (all 2N coordinates, crop units)
//   gamma_m = imbalance_m * geometry_m
//   imbalance_m = sum_c w_c a_mc        (a_mc = 1 when sample m is in class c; w_c = 1 / class fraction)
//   geometry_m  = sum_k (1 - cos theta_mk),  theta_mk = predicted - true yaw, pitch, roll (radians)
//
// The distance ||d_m||^2 is the paper's; `Distance` offers the two that landmark regression usually
// prefers, since L2's gradient fades as the error shrinks: L1 (sum |d|) and Wing (Feng et al., 2018:
// w ln(1 + |d| / eps) under w, |d| - C over it; w and eps in crop units, 10 and 2 pixels of a 112 crop).
//
// Read literally (`paper_literal`) the loss is degenerate: a sample in no class weighs 0, and a perfect
// pose estimate switches off the landmark gradient. The default `full` mode uses 1 + sum_k(1 - cos) and
// gives a sample in no class the imbalance weight 1. The other modes drop one factor for the ablation.
// Gradients reach the auxiliary net through theta (d/dtheta (1 - cos theta) = sin theta).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"

namespace pfld::model {

enum class LossMode { l2, no_geometry, no_imbalance, full, paper_literal };
enum class Distance { l2, l1, wing };

inline const char* to_string(LossMode m) {
  switch (m) {
    case LossMode::l2: return "l2";
    case LossMode::no_geometry: return "no_geometry";
    case LossMode::no_imbalance: return "no_imbalance";
    case LossMode::paper_literal: return "paper_literal";
    default: return "full";
  }
}

inline const char* to_string(Distance d) {
  switch (d) {
    case Distance::l1: return "l1";
    case Distance::wing: return "wing";
    default: return "l2";
  }
}

inline Distance parse_distance(const std::string& name) {
  for (Distance d : {Distance::l2, Distance::l1, Distance::wing})
    if (name == to_string(d)) return d;
  detail::fail("unknown distance '", name, "' (expected l2, l1 or wing)");
}

inline LossMode parse_loss_mode(const std::string& name) {
  for (LossMode m : {LossMode::l2, LossMode::no_geometry, LossMode::no_imbalance, LossMode::full, LossMode::paper_literal})
    if (name == to_string(m)) return m;
  detail::fail("unknown loss mode '", name, "' (expected l2, no_geometry, no_imbalance, full or paper_literal)");
}

class PfldLoss {
 public:
  // class_weights: w_c per attribute class (may be empty for modes that ignore classes).
  explicit PfldLoss(LossMode mode = LossMode::full, std::vector<float> class_weights = {},
                    Distance distance = Distance::l2)
      : mode_(mode), distance_(distance), class_weights_(std::move(class_weights)) {
    for (float w : class_weights_)
      detail::require(std::isfinite(w) && w >= 0.0f, "PfldLoss: class weight ", w, " is not a finite value >= 0");
  }

  LossMode mode() const { return mode_; }
  Distance distance() const { return distance_; }
  const std::vector<float>& class_weights() const { return class_weights_; }
  bool uses_pose() const { return mode_ != LossMode::l2 && mode_ != LossMode::no_geometry; }
  bool uses_classes() const { return mode_ != LossMode::l2 && mode_ != LossMode::no_imbalance; }

  // Returns L and keeps dL/d(predicted landmarks) and dL/d(predicted pose) for landmark_grad() and
  // pose_grad(). landmarks (M, 2N); pose (M, 3) in radians; attributes (M, C) of 0/1, C the number of
  // class weights. Pose and attributes may be empty tensors when the mode does not use them.
  float forward(const Tensor& predicted, const Tensor& target, const Tensor& predicted_pose,
                const Tensor& target_pose, const Tensor& attributes) {
    detail::require(predicted.rank() == 2 && predicted.dim(0) > 0, "PfldLoss: landmarks ", predicted.shape().str(),
                    " are not (batch, 2N)");
    require_shape(target, predicted.shape(), "PfldLoss: target landmarks");
    const int m_count = predicted.dim(0), coords = predicted.dim(1);
    if (uses_pose()) {
      require_shape(predicted_pose, Shape{m_count, 3}, "PfldLoss: predicted pose");
      require_shape(target_pose, Shape{m_count, 3}, "PfldLoss: target pose");
    }
    const int classes = static_cast<int>(class_weights_.size());
    if (uses_classes()) {
      detail::require(classes > 0, "PfldLoss: mode ", to_string(mode_), " needs class weights");
      require_shape(attributes, Shape{m_count, classes}, "PfldLoss: attributes");
    }
    ensure_shape(landmark_grad_, predicted.shape());
    ensure_shape(pose_grad_, Shape{m_count, 3});
    pose_grad_.zero();

    double total = 0.0;
    const double inv_m = 1.0 / m_count;
    for (int m = 0; m < m_count; ++m) {
      const float* p = predicted.data() + static_cast<std::size_t>(m) * coords;
      const float* t = target.data() + static_cast<std::size_t>(m) * coords;
      double sq = 0.0;  // the sample's distance term
      for (int i = 0; i < coords; ++i) sq += term(static_cast<double>(p[i]) - t[i]);
      detail::require(std::isfinite(sq), "PfldLoss: sample ", m, " has non-finite landmarks");

      double imbalance = 1.0;
      if (uses_classes()) {
        imbalance = 0.0;
        for (int c = 0; c < classes; ++c) imbalance += class_weights_[c] * attributes[static_cast<std::size_t>(m) * classes + c];
        if (imbalance == 0.0 && mode_ != LossMode::paper_literal) imbalance = 1.0;
      }
      double geometry = 1.0;
      double theta[3] = {0.0, 0.0, 0.0};
      if (uses_pose()) {
        geometry = mode_ == LossMode::paper_literal ? 0.0 : 1.0;
        for (int k = 0; k < 3; ++k) {
          theta[k] = static_cast<double>(predicted_pose[static_cast<std::size_t>(m) * 3 + k]) - target_pose[static_cast<std::size_t>(m) * 3 + k];
          geometry += 1.0 - std::cos(theta[k]);
        }
      }
      const double gamma = imbalance * geometry;
      total += gamma * sq;
      for (int i = 0; i < coords; ++i)
        landmark_grad_[static_cast<std::size_t>(m) * coords + i] = static_cast<float>(inv_m * gamma * term_grad(static_cast<double>(p[i]) - t[i]));
      if (uses_pose())
        for (int k = 0; k < 3; ++k)
          pose_grad_[static_cast<std::size_t>(m) * 3 + k] = static_cast<float>(inv_m * imbalance * sq * std::sin(theta[k]));
    }
    return static_cast<float>(total * inv_m);
  }

  const Tensor& landmark_grad() const { return landmark_grad_; }
  const Tensor& pose_grad() const { return pose_grad_; }

  static constexpr double kWingWidth = 10.0 / 112.0, kWingCurvature = 2.0 / 112.0;

 private:
  // One coordinate's distance term and its derivative.
  double term(double d) const {
    const double a = std::abs(d);
    switch (distance_) {
      case Distance::l1: return a;
      case Distance::wing:
        return a < kWingWidth ? kWingWidth * std::log1p(a / kWingCurvature)
                              : a - (kWingWidth - kWingWidth * std::log1p(kWingWidth / kWingCurvature));
      default: return d * d;
    }
  }
  double term_grad(double d) const {
    const double sign = d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : 0.0);
    switch (distance_) {
      case Distance::l1: return sign;
      case Distance::wing: {
        const double a = std::abs(d);
        return a < kWingWidth ? sign * kWingWidth / (kWingCurvature + a) : sign;
      }
      default: return 2.0 * d;
    }
  }

  LossMode mode_;
  Distance distance_;
  std::vector<float> class_weights_;
  Tensor landmark_grad_, pose_grad_;
};

}  // namespace pfld::model
