// Attribute classes for the PFLD loss's imbalance weights: which faces are rare in the training set.
//
// WFLW annotates six flags per face. For 300-W, pfld derives five classes from the head pose and the
// landmarks, with these thresholds (all documented, none learned):
//   profile      |yaw|   >= 25 degrees
//   frontal      |yaw|   <  10 degrees and |pitch| < 10 degrees
//   head up      pitch   <= -10 degrees  (chin raised)
//   head down    pitch   >= 10 degrees   (chin lowered)
//   expression   open mouth: the mean gap between the inner lips (points 61-67, 62-66, 63-65) is at
//                least 0.15 of the inter-ocular distance (outer eye corners 36-45)
// Occlusion cannot be derived from 300-W's markup, so that class is absent there.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "head_pose.hpp"
#include "landmarks.hpp"

namespace pfld {
inline namespace data {

struct AttributeScheme {
  std::vector<std::string> names;
};

inline AttributeScheme attributes_300w() { return {{"profile", "frontal", "head_up", "head_down", "expression"}}; }
inline AttributeScheme attributes_wflw() {
  return {{"pose", "expression", "illumination", "make-up", "occlusion", "blur"}};
}

struct AttributeThresholds {
  float profile_yaw_deg = 25.0f;
  float frontal_deg = 10.0f;
  float pitch_deg = 10.0f;
  float open_mouth = 0.15f;  // inner-lip gap / inter-ocular distance
};

inline float degrees(float radians) { return radians * 57.29577951308232f; }

// The 300-W classes of one face (68 points) with pose `pose`, as 0/1 flags in attributes_300w() order.
inline std::vector<float> classes_300w(const Landmarks& points, const HeadPose& pose,
                                       const AttributeThresholds& t = {}) {
  detail::require(points.size() == 68, "300-W attributes need 68 landmarks, got ", points.size());
  const float yaw = degrees(pose.yaw), pitch = degrees(pose.pitch);
  const float ocular = std::hypot(points[36].x - points[45].x, points[36].y - points[45].y);
  float gap = 0.0f;
  for (auto [upper, lower] : {std::pair<int, int>{61, 67}, {62, 66}, {63, 65}})
    gap += std::hypot(points[static_cast<std::size_t>(upper)].x - points[static_cast<std::size_t>(lower)].x,
                      points[static_cast<std::size_t>(upper)].y - points[static_cast<std::size_t>(lower)].y) / 3.0f;
  return {std::abs(yaw) >= t.profile_yaw_deg ? 1.0f : 0.0f,
          std::abs(yaw) < t.frontal_deg && std::abs(pitch) < t.frontal_deg ? 1.0f : 0.0f,
          pitch <= -t.pitch_deg ? 1.0f : 0.0f,
          pitch >= t.pitch_deg ? 1.0f : 0.0f,
          ocular > 0 && gap / ocular >= t.open_mouth ? 1.0f : 0.0f};
}

// The share of faces in each class, and the loss weights w_c = 1 / share (0 for a class no face has).
struct ClassStatistics {
  std::vector<float> fractions;
  std::vector<float> weights;
};

// The one place shares become loss weights: from the (weighted) count of faces in each class, then, as
// the last element, the count of faces in all (data::class_counts gives them so).
inline ClassStatistics class_statistics_from_counts(const std::vector<double>& counts) {
  detail::require(!counts.empty() && counts.back() > 0, "class statistics: no faces");
  const double faces = counts.back();
  ClassStatistics s;
  for (std::size_t c = 0; c + 1 < counts.size(); ++c) {
    const float fraction = static_cast<float>(counts[c] / faces);
    s.fractions.push_back(fraction);
    s.weights.push_back(fraction > 0 ? 1.0f / fraction : 0.0f);
  }
  return s;
}

inline ClassStatistics class_statistics(const std::vector<std::vector<float>>& flags, std::size_t classes) {
  detail::require(!flags.empty(), "class statistics: no faces");
  std::vector<double> counts(classes + 1, 0.0);
  for (const auto& f : flags) {
    detail::require(f.size() == classes, "class statistics: a face has ", f.size(), " flags, expected ", classes);
    for (std::size_t c = 0; c < classes; ++c) counts[c] += f[c];
  }
  counts[classes] = static_cast<double>(flags.size());
  return class_statistics_from_counts(counts);
}

}  // namespace data
}  // namespace pfld
