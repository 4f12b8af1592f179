// A landmark model read in another annotation scheme: a WFLW (98-point) network answering with the
// 300-W (68-point) points through the correspondence in data/point_map.hpp. What lets a 98-point model
// be evaluated on 68-point faces, run where 68 points are expected, or teach a 68-point student.
//
//   auto wflw = pfld::load_onnx("pfld-0.25x-98-wflw.onnx");
//   pfld::Detector detector(pfld::remap_landmarks(wflw, 68));   // 68 points out
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "../data/point_map.hpp"
#include "landmark_model.hpp"

namespace pfld {

class RemappedModel : public LandmarkModel {
 public:
  // Point i of this model is point map[i] of `inner`.
  RemappedModel(std::shared_ptr<const LandmarkModel> inner, std::vector<int> map)
      : inner_(std::move(inner)), map_(std::move(map)) {
    detail::require(inner_ != nullptr, "RemappedModel: no model");
    detail::require(!map_.empty(), "RemappedModel: an empty point map");
    for (int p : map_)
      detail::require(p >= 0 && p < inner_->landmark_count(), "RemappedModel: point ", p, " of a ",
                      inner_->landmark_count(), "-point model");
    // The remapped coordinates go after the inner model's memory, 64-byte aligned.
    output_offset_ = (inner_->arena_floats() + 15) / 16 * 16;
  }

  const LandmarkModel& inner() const { return *inner_; }
  int input_size() const override { return inner_->input_size(); }
  int landmark_count() const override { return static_cast<int>(map_.size()); }
  std::size_t arena_floats() const override { return output_offset_ + 2 * map_.size(); }

  float* input(InferenceArena& arena) const override {
    check(arena);
    return inner_->input(arena);
  }

  const float* run(InferenceArena& arena) const override {
    check(arena);
    const float* all = inner_->run(arena);
    float* out = arena.data() + output_offset_;
    for (std::size_t i = 0; i < map_.size(); ++i) {
      const std::size_t p = static_cast<std::size_t>(map_[i]);
      out[2 * i] = all[2 * p];
      out[2 * i + 1] = all[2 * p + 1];
    }
    return out;
  }
  using LandmarkModel::run;  // run(crop, arena)

 private:
  void check(const InferenceArena& arena) const {
    detail::require(arena.size() >= arena_floats(), "RemappedModel: arena of ", arena.size(), " floats, needs ",
                    arena_floats(), " (make it with make_arena())");
  }

  std::shared_ptr<const LandmarkModel> inner_;
  std::vector<int> map_;
  std::size_t output_offset_ = 0;
};

// `net` answering with `landmarks` points: itself when it already has that many, else remapped through
// point_map (an Error naming both counts when no correspondence is known).
inline std::shared_ptr<const LandmarkModel> remap_landmarks(std::shared_ptr<const LandmarkModel> net, int landmarks) {
  detail::require(net != nullptr, "remap_landmarks: no model");
  if (net->landmark_count() == landmarks) return net;
  std::vector<int> map = point_map(net->landmark_count(), landmarks);
  return std::make_shared<const RemappedModel>(std::move(net), std::move(map));
}

}  // namespace pfld
