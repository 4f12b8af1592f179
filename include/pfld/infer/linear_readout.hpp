// A landmark model read through a linear map of its outputs: point coordinates y = W [x; 1] from the
// model's coordinates x. What makes a model of another annotation scheme answer in this one when the
// schemes place their points differently (WFLW's jaw contour and brows are not 300-W's, so picking the
// nearest WFLW point leaves an offset per point): W is fitted on faces annotated in the target scheme
// (train/fit_readout.hpp), the same as retraining the network's last layer, which is linear too. A fixed
// correspondence between schemes is the special case of 0/1 weights (remap_landmarks).
//
//   auto wflw = pfld::load_onnx("pfld-0.25x-98-wflw.onnx");
//   pfld::Detector detector(pfld::remap_landmarks(wflw, 68));   // 68 points out
#pragma once

#include <cmath>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "../core/compilation.hpp"
#include "../core/error.hpp"
#include "../data/point_map.hpp"
#include "landmark_model.hpp"

namespace pfld {
inline namespace infer {

class LinearReadout : public LandmarkModel {
 public:
  // `weights`: 2 * landmarks rows of 2 * inner->landmark_count() + 1 columns (the last one the bias),
  // row-major, in crop units.
  LinearReadout(std::shared_ptr<const LandmarkModel> inner, int landmarks, std::vector<float> weights)
      : inner_(std::move(inner)), landmarks_(landmarks), weights_(std::move(weights)) {
    detail::require(inner_ != nullptr, "LinearReadout: no model");
    detail::require(landmarks_ > 0, "LinearReadout: ", landmarks_, " landmarks");
    detail::require(weights_.size() == static_cast<std::size_t>(2 * landmarks_) * columns(), "LinearReadout: ",
                    weights_.size(), " weights, a map from ", inner_->landmark_count(), " to ", landmarks_,
                    " landmarks has ", static_cast<std::size_t>(2 * landmarks_) * columns());
    for (float w : weights_) detail::require(std::isfinite(w), "LinearReadout: a non-finite weight");
    output_offset_ = aligned(inner_->arena_floats());
  }

  const LandmarkModel& inner() const { return *inner_; }
  const std::vector<float>& weights() const { return weights_; }
  int input_size() const override { return inner_->input_size(); }
  int landmark_count() const override { return landmarks_; }
  std::size_t arena_floats() const override { return output_offset_ + 2 * static_cast<std::size_t>(landmarks_); }

  float* input(InferenceArena& arena) const override {
    check_arena(arena, "LinearReadout");
    return inner_->input(arena);
  }

 protected:
  const float* forward(InferenceArena& arena) const override {
    check_arena(arena, "LinearReadout");
    const float* x = inner_->run(arena);
    float* y = arena.data() + output_offset_;
    const std::size_t n = columns() - 1;
    for (std::size_t r = 0; r < 2 * static_cast<std::size_t>(landmarks_); ++r) {
      const float* w = weights_.data() + r * columns();
      float sum = w[n];
      for (std::size_t c = 0; c < n; ++c) sum += w[c] * x[c];
      y[r] = sum;
    }
    return y;
  }

 private:
  std::size_t columns() const { return 2 * static_cast<std::size_t>(inner_->landmark_count()) + 1; }

  std::shared_ptr<const LandmarkModel> inner_;
  int landmarks_;
  std::vector<float> weights_;
  std::size_t output_offset_ = 0;
};

// `net` answering with `landmarks` points: itself when it already has that many, else point i is its
// point point_map(...)[i] (an Error naming both counts when no correspondence is known).
PFLD_ENTRY std::shared_ptr<const LandmarkModel> remap_landmarks(std::shared_ptr<const LandmarkModel> net, int landmarks);

#if PFLD_DEFINE_ENTRIES
PFLD_ENTRY std::shared_ptr<const LandmarkModel> remap_landmarks(std::shared_ptr<const LandmarkModel> net, int landmarks) {
  detail::require(net != nullptr, "remap_landmarks: no model");
  if (net->landmark_count() == landmarks) return net;
  const std::vector<int> map = point_map(net->landmark_count(), landmarks);
  const std::size_t columns = 2 * static_cast<std::size_t>(net->landmark_count()) + 1;
  std::vector<float> weights(2 * map.size() * columns, 0.0f);
  for (std::size_t i = 0; i < map.size(); ++i)
    for (std::size_t axis = 0; axis < 2; ++axis)
      weights[(2 * i + axis) * columns + 2 * static_cast<std::size_t>(map[i]) + axis] = 1.0f;
  return std::make_shared<const LinearReadout>(std::move(net), landmarks, std::move(weights));
}
#endif

}  // namespace infer
}  // namespace pfld
