// Several landmark models as one: each runs on the same crop, the answer is the mean of their
// coordinates. Networks trained on different data err differently, so their mean is a better teacher
// for distillation than either (weights/README.md gives the numbers).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "landmark_model.hpp"

namespace pfld {
inline namespace infer {

class EnsembleModel : public LandmarkModel {
 public:
  explicit EnsembleModel(std::vector<std::shared_ptr<const LandmarkModel>> members) : members_(std::move(members)) {
    detail::require(!members_.empty(), "EnsembleModel: no models");
    std::size_t shared = 0;
    for (const auto& m : members_) {
      detail::require(m != nullptr, "EnsembleModel: a null model");
      detail::require(m->input_size() == members_[0]->input_size() && m->landmark_count() == members_[0]->landmark_count(),
                      "EnsembleModel: a ", m->input_size(), "x", m->input_size(), " model of ", m->landmark_count(),
                      " landmarks with a ", members_[0]->input_size(), "x", members_[0]->input_size(), " one of ",
                      members_[0]->landmark_count());
      shared = std::max(shared, m->arena_floats());
    }
    // The members run one after another in the same memory; the crop and the sum live after it.
    crop_offset_ = aligned(shared);
    output_offset_ = crop_offset_ + aligned(crop_floats());
    arena_floats_ = output_offset_ + 2 * static_cast<std::size_t>(landmark_count());
  }

  std::size_t size() const { return members_.size(); }
  int input_size() const override { return members_[0]->input_size(); }
  int landmark_count() const override { return members_[0]->landmark_count(); }
  std::size_t arena_floats() const override { return arena_floats_; }

  float* input(InferenceArena& arena) const override {
    check_arena(arena, "EnsembleModel");
    return arena.data() + crop_offset_;
  }

 protected:
  const float* forward(InferenceArena& arena) const override {
    check_arena(arena, "EnsembleModel");
    const float* crop = arena.data() + crop_offset_;
    float* mean = arena.data() + output_offset_;
    const std::size_t coords = 2 * static_cast<std::size_t>(landmark_count());
    std::fill_n(mean, coords, 0.0f);
    const float share = 1.0f / static_cast<float>(members_.size());
    for (const auto& m : members_) {
      const float* out = m->run(crop, arena);
      for (std::size_t c = 0; c < coords; ++c) mean[c] += share * out[c];
    }
    return mean;
  }

 private:
  std::size_t crop_floats() const { return static_cast<std::size_t>(input_size()) * input_size() * 3; }

  std::vector<std::shared_ptr<const LandmarkModel>> members_;
  std::size_t crop_offset_ = 0, output_offset_ = 0, arena_floats_ = 0;
};

}  // namespace infer
}  // namespace pfld
