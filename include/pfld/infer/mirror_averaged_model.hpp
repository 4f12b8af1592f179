// Test-time mirroring as a model: the inner model run on the crop and on the crop mirrored left-right,
// each point the mean of its own answer and its mirror partner's from the mirrored run. Half the
// variance of the two runs' errors at twice the cost: a better distillation teacher. (The Detector's
// mirror_average does the same from the source image, so it needs no crop flip.)
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <utility>

#include "../data/mirror.hpp"
#include "landmark_model.hpp"

namespace pfld {
inline namespace infer {

class MirrorAveragedModel : public LandmarkModel {
 public:
  // `mirror`: point p of a face is point mirror[p] of its mirror image (mirror_map_for gives 68 and 98).
  MirrorAveragedModel(std::shared_ptr<const LandmarkModel> inner, MirrorMap mirror)
      : inner_(std::move(inner)), mirror_(std::move(mirror)) {
    detail::require(inner_ != nullptr, "MirrorAveragedModel: no model");
    detail::require(mirror_.size() == static_cast<std::size_t>(inner_->landmark_count()), "MirrorAveragedModel: a mirror ",
                    "map of ", mirror_.size(), " points for a model of ", inner_->landmark_count());
    for (int p : mirror_)
      detail::require(p >= 0 && static_cast<std::size_t>(p) < mirror_.size(), "MirrorAveragedModel: mirror map entry ", p,
                      " out of range");
    // After the inner model's memory: the crop, the first run's answer, the mean.
    crop_offset_ = aligned(inner_->arena_floats());
    first_offset_ = crop_offset_ + aligned(crop_floats());
    output_offset_ = first_offset_ + aligned(coords());
  }

  int input_size() const override { return inner_->input_size(); }
  int landmark_count() const override { return inner_->landmark_count(); }
  std::size_t arena_floats() const override { return output_offset_ + coords(); }

  float* input(InferenceArena& arena) const override {
    check_arena(arena, "MirrorAveragedModel");
    return arena.data() + crop_offset_;
  }

 protected:
  const float* forward(InferenceArena& arena) const override {
    check_arena(arena, "MirrorAveragedModel");
    const std::size_t s = static_cast<std::size_t>(input_size());
    const float* crop = arena.data() + crop_offset_;
    float* first = arena.data() + first_offset_;
    std::copy_n(inner_->run(crop, arena), coords(), first);
    // Pixel u of a row is pixel s - 1 - u of the mirrored row, so label x is 1 - x there.
    float* flipped = inner_->input(arena);
    for (std::size_t y = 0; y < s; ++y)
      for (std::size_t x = 0; x < s; ++x) std::copy_n(crop + (y * s + s - 1 - x) * 3, 3, flipped + (y * s + x) * 3);
    const float* second = inner_->run(arena);
    float* mean = arena.data() + output_offset_;
    for (std::size_t p = 0; p < mirror_.size(); ++p) {
      const std::size_t q = static_cast<std::size_t>(mirror_[p]);
      mean[2 * p] = 0.5f * (first[2 * p] + 1.0f - second[2 * q]);
      mean[2 * p + 1] = 0.5f * (first[2 * p + 1] + second[2 * q + 1]);
    }
    return mean;
  }

 private:
  std::size_t crop_floats() const { return static_cast<std::size_t>(input_size()) * input_size() * 3; }
  std::size_t coords() const { return 2 * mirror_.size(); }

  std::shared_ptr<const LandmarkModel> inner_;
  MirrorMap mirror_;
  std::size_t crop_offset_ = 0, first_offset_ = 0, output_offset_ = 0;
};

}  // namespace infer
}  // namespace pfld
