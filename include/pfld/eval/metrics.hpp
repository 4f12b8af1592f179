// Landmark accuracy as the field reports it: normalised mean error (NME), failure rate and the area
// under the cumulative error distribution (CED) curve.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../data/landmarks.hpp"

namespace pfld::eval {

enum class Normalization {
  inter_ocular,  // outer eye corners (68: 36-45, 98: 60-72), the 300-W standard
  inter_pupil,   // eye centres (68: mean of each eye's six points; 98: 96-97)
  box            // sqrt(width * height) of the ground truth's bounding box
};

inline Normalization parse_normalization(const std::string& name) {
  if (name == "inter_ocular" || name == "ocular") return Normalization::inter_ocular;
  if (name == "inter_pupil" || name == "pupil") return Normalization::inter_pupil;
  if (name == "box") return Normalization::box;
  detail::fail("unknown NME normalisation '", name, "' (expected inter_ocular, inter_pupil or box)");
}

inline float normalizing_distance(const Landmarks& truth, Normalization how) {
  const std::size_t n = truth.size();
  auto dist = [](Point a, Point b) { return std::hypot(a.x - b.x, a.y - b.y); };
  switch (how) {
    case Normalization::inter_ocular:
      if (n == 68) return dist(truth[36], truth[45]);
      if (n == 98) return dist(truth[60], truth[72]);
      break;
    case Normalization::inter_pupil: {
      Point l, r;
      if (eye_centres(truth, l, r)) return dist(l, r);
      break;
    }
    case Normalization::box: {
      const Box b = bounding_box(truth);
      return std::sqrt(b.width * b.height);
    }
  }
  detail::fail("NME: no eye landmarks known for ", n, " points; use the box normalisation");
}

// Mean point-to-point distance over the normaliser, for one face (a fraction, not percent).
inline float nme(const Landmarks& predicted, const Landmarks& truth, Normalization how = Normalization::inter_ocular) {
  detail::require(predicted.size() == truth.size() && !truth.empty(), "NME: ", predicted.size(),
                  " predicted points for ", truth.size(), " true ones");
  const float d = normalizing_distance(truth, how);
  detail::require(d > 0 && std::isfinite(d), "NME: normalising distance is ", d);
  double sum = 0.0;
  for (std::size_t i = 0; i < truth.size(); ++i)
    sum += std::hypot(predicted[i].x - truth[i].x, predicted[i].y - truth[i].y);
  return static_cast<float>(sum / static_cast<double>(truth.size()) / d);
}

// Summary of per-face NMEs: mean, failure rate at a threshold, area under the CED curve up to it
// (normalised to [0, 1]; the curve is sampled every 1e-4 as is customary).
struct Summary {
  std::size_t faces = 0;
  double mean_nme = 0.0;
  double failure_rate(double threshold) const { return fraction_above(threshold); }
  double auc(double threshold) const {
    const int steps = static_cast<int>(std::lround(threshold / 1e-4));
    double area = 0.0;
    for (int i = 0; i <= steps; ++i) area += 1.0 - fraction_above(i * 1e-4);
    return area / (steps + 1);
  }
  std::vector<float> sorted;  // per-face NMEs, ascending

  double fraction_above(double threshold) const {
    if (sorted.empty()) return 0.0;
    const auto it = std::upper_bound(sorted.begin(), sorted.end(), static_cast<float>(threshold));
    return static_cast<double>(sorted.end() - it) / static_cast<double>(sorted.size());
  }
};

inline Summary summarize(std::vector<float> nmes) {
  detail::require(!nmes.empty(), "NME summary: no faces");
  Summary s;
  s.faces = nmes.size();
  double sum = 0.0;
  for (float v : nmes) sum += v;
  s.mean_nme = sum / static_cast<double>(nmes.size());
  std::sort(nmes.begin(), nmes.end());
  s.sorted = std::move(nmes);
  return s;
}

}  // namespace pfld::eval
