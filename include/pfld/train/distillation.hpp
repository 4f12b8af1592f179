// Distillation: training targets moved toward a trained teacher's predictions on the same crops.
//
// 300-W's manual points are noisy where the face gives no landmark to click (the jaw contour above all);
// a larger network trained on the same faces predicts them consistently. Blending its predictions on
// each augmented crop into the targets gives a small student a smoother function to fit.
#pragma once

#include <algorithm>
#include <cmath>

#include "../infer/landmark_model.hpp"
#include "trainer.hpp"

namespace pfld::train {

// batch.landmarks = (1 - weight) * batch.landmarks + weight * teacher(batch.images), image by image.
// The teacher takes the student's input (crops scaled as the network expects) and has its landmark count
// (a MirrorAveragedModel, a LinearReadout or an EnsembleModel make better teachers of plain networks).
inline void blend_teacher_targets(const LandmarkModel& teacher, InferenceArena& arena, Batch& batch, float weight) {
  detail::require(std::isfinite(weight) && weight >= 0.0f && weight <= 1.0f, "distillation: teacher weight ", weight,
                  " outside [0, 1]");
  const int s = teacher.input_size();
  detail::require(batch.images.rank() == 4 && batch.images.dim(1) == s && batch.images.dim(2) == s &&
                      batch.images.dim(3) == 3,
                  "distillation: images ", batch.images.shape().str(), " do not fit the teacher's ", s, "x", s,
                  " input");
  const int m = batch.images.dim(0);
  const int coords = 2 * teacher.landmark_count();
  detail::require(batch.landmarks.rank() == 2 && batch.landmarks.dim(0) == m && batch.landmarks.dim(1) == coords,
                  "distillation: targets ", batch.landmarks.shape().str(), " but the teacher predicts ",
                  teacher.landmark_count(), " landmarks");
  const std::size_t pixels = static_cast<std::size_t>(s) * s * 3;
  for (int i = 0; i < m; ++i) {
    const float* predicted = teacher.run(batch.images.data() + static_cast<std::size_t>(i) * pixels, arena);
    float* target = batch.landmarks.data() + static_cast<std::size_t>(i) * coords;
    for (int c = 0; c < coords; ++c) target[c] += weight * (predicted[c] - target[c]);
  }
}

}  // namespace pfld::train
