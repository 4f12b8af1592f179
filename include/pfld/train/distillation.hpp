// Distillation: training targets moved toward a trained teacher's predictions on the same crops.
//
// 300-W's manual points are noisy where the face gives no landmark to click (the jaw contour above all);
// a larger network trained on the same faces predicts them consistently. Blending its predictions on
// each augmented crop into the targets gives a small student a smoother function to fit.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "../data/mirror.hpp"
#include "../infer/landmark_model.hpp"
#include "trainer.hpp"

namespace pfld::train {

// batch.landmarks = (1 - weight) * batch.landmarks + weight * teacher(batch.images), image by image.
// The teacher takes the student's input (crops scaled as the network expects) and has its landmark count.
// With `mirror` (the landmarks' mirror map), the teacher's prediction is the mean of its predictions on
// the crop and on the crop mirrored left-right (test-time mirroring: a better teacher, two runs a crop).
inline void blend_teacher_targets(const LandmarkModel& teacher, InferenceArena& arena, Batch& batch, float weight,
                                  const MirrorMap* mirror = nullptr) {
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
  detail::require(!mirror || mirror->size() == static_cast<std::size_t>(teacher.landmark_count()),
                  "distillation: a mirror map of ", mirror ? mirror->size() : 0, " points for a teacher of ",
                  teacher.landmark_count());
  const std::size_t pixels = static_cast<std::size_t>(s) * s * 3;
  std::vector<float> predicted(static_cast<std::size_t>(coords));
  for (int i = 0; i < m; ++i) {
    const float* crop = batch.images.data() + static_cast<std::size_t>(i) * pixels;
    std::copy_n(crop, pixels, teacher.input(arena));
    std::copy_n(teacher.run(arena), coords, predicted.data());
    if (mirror) {
      // Pixel u of a row is pixel s - 1 - u of the mirrored row, so label x is 1 - x there, and point p
      // of the face is the teacher's point mirror[p].
      float* input = teacher.input(arena);
      for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x)
          std::copy_n(crop + (static_cast<std::size_t>(y) * s + static_cast<std::size_t>(s - 1 - x)) * 3, 3,
                      input + (static_cast<std::size_t>(y) * s + static_cast<std::size_t>(x)) * 3);
      const float* flipped = teacher.run(arena);
      for (std::size_t p = 0; p < mirror->size(); ++p) {
        const std::size_t q = static_cast<std::size_t>((*mirror)[p]);
        predicted[2 * p] = 0.5f * (predicted[2 * p] + 1.0f - flipped[2 * q]);
        predicted[2 * p + 1] = 0.5f * (predicted[2 * p + 1] + flipped[2 * q + 1]);
      }
    }
    float* target = batch.landmarks.data() + static_cast<std::size_t>(i) * coords;
    for (int c = 0; c < coords; ++c) target[c] += weight * (predicted[static_cast<std::size_t>(c)] - target[c]);
  }
}

}  // namespace pfld::train
