// Which of a detector's faces is an annotated face: the rule pfld_eval --detector and
// pfld_face_calibration count found faces by.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "../data/crop.hpp"
#include "../data/landmarks.hpp"

namespace pfld::eval {

// The index of the region nearest the annotated landmarks' region whose centre lies within half that
// region's side of it and whose side is within a factor 1.5 of it; -1 when none is.
inline int match_face(const std::vector<FaceRegion>& regions, const Landmarks& annotated) {
  const FaceRegion truth = landmark_region(annotated);
  int best = -1;
  float best_distance = 0.0f;
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const FaceRegion& r = regions[i];
    const float d = std::hypot(r.centre.x - truth.centre.x, r.centre.y - truth.centre.y);
    const float ratio = r.side / truth.side;
    const bool plausible = d < 0.5f * truth.side && ratio <= 1.5f && ratio >= 1.0f / 1.5f;
    if (plausible && (best < 0 || d < best_distance)) best = static_cast<int>(i), best_distance = d;
  }
  return best;
}

}  // namespace pfld::eval
