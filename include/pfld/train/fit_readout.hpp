// Fitting a LinearReadout: ridge regression from a model's coordinates to annotated points, on the
// standard crops of annotated faces; the model itself is not changed.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "../data/dataset.hpp"
#include "../eval/evaluate.hpp"
#include "../infer/linear_readout.hpp"
#include "ridge_regression.hpp"

namespace pfld::train {

// The faces' annotated points in their crops' units (x0, y0, x1, ...), the targets of a fit.
inline std::vector<float> crop_labels(const Landmarks& points, const CropTransform& crop) {
  std::vector<float> labels;
  for (const Point& p : points) {
    const Point label = crop.image_to_label(p);
    labels.push_back(label.x);
    labels.push_back(label.y);
  }
  return labels;
}

// `crops` are the faces' standard crops at the model's input size (eval::make_eval_crops); `ridge` is in
// squared crop units per coordinate (1e-5 suited PFLD and WFLW models on 300-W: weights/README.md).
inline std::shared_ptr<const LinearReadout> fit_linear_readout(std::shared_ptr<const LandmarkModel> model,
                                                               const FaceSet& faces, const eval::EvalCrops& crops,
                                                               double ridge = 1e-5) {
  detail::require(model != nullptr, "fit_linear_readout: no model");
  const std::size_t n = faces.size();
  const int s = model->input_size();
  detail::require(n > 0, "fit_linear_readout: no faces");
  detail::require(crops.images.rank() == 4 && static_cast<std::size_t>(crops.images.dim(0)) == n &&
                      crops.images.dim(1) == s && crops.images.dim(2) == s && crops.transforms.size() == n,
                  "fit_linear_readout: crops ", crops.images.shape().str(), " for ", n, " faces and a ", s, "x", s,
                  " model");
  const std::size_t coords = 2 * static_cast<std::size_t>(model->landmark_count());
  RidgeRegression fit(coords, 2 * static_cast<std::size_t>(faces.landmark_count));
  InferenceArena arena = model->make_arena();
  const std::size_t pixels = static_cast<std::size_t>(s) * s * 3;
  for (std::size_t i = 0; i < n; ++i)
    fit.add(model->run(crops.images.data() + i * pixels, arena), crop_labels(faces.faces[i].landmarks, crops.transforms[i]).data());
  return std::make_shared<const LinearReadout>(std::move(model), faces.landmark_count, fit.solve(ridge));
}

}  // namespace pfld::train
