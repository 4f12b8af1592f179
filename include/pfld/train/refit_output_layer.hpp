// Recalibrating a trained network's output layer by least squares. Training fits the landmarks only
// approximately on clean crops: it minimises an L1 or weighted loss on augmented crops with a decaying
// step. A linear map of the network's own coordinates, fitted by ridge regression on the training faces'
// standard crops, corrects what is left that is linear (offsets, scale, points leaning on their
// neighbours); the map folds into the fully connected layer, so the network keeps its shape and speed.
// Fitted from the 176 features under that layer directly instead, it overfits (weights/README.md).
#pragma once

#include <vector>

#include "../data/dataset.hpp"
#include "../eval/evaluate.hpp"
#include "../model/pfld_net.hpp"
#include "fit_readout.hpp"
#include "ridge_regression.hpp"
#include "trainer.hpp"

namespace pfld::train {

// fc <- R o fc, R the ridge fit from the network's coordinates on `crops` (the faces' standard crops,
// eval::make_eval_crops) to the faces' points; the network runs in eval mode.
inline void refit_output_layer(model::PfldNet& net, const FaceSet& faces, const eval::EvalCrops& crops,
                               double ridge = 1e-5, int batch = 32) {
  const std::size_t n = faces.size();
  detail::require(n > 0, "refit_output_layer: no faces");
  detail::require(faces.landmark_count == net.config().landmarks, "refit_output_layer: faces of ",
                  faces.landmark_count, " landmarks for a network of ", net.config().landmarks);
  detail::require(crops.images.rank() == 4 && static_cast<std::size_t>(crops.images.dim(0)) == n &&
                      crops.transforms.size() == n,
                  "refit_output_layer: crops ", crops.images.shape().str(), " for ", n, " faces");
  nn::Linear& fc = net.fc();
  detail::require(fc.has_bias(), "refit_output_layer: the output layer has no bias");
  const std::size_t coords = static_cast<std::size_t>(fc.out_features());
  const std::size_t features = static_cast<std::size_t>(fc.in_features());
  RidgeRegression fit(coords, coords);
  {
    EvalModeScope eval(net);
    const int total = static_cast<int>(n);
    for (int first = 0; first < total; first += batch) {
      const int count = std::min(batch, total - first);
      const Tensor& y = net.forward(crops.images.batch(first, count));
      for (int i = 0; i < count; ++i) {
        const std::size_t face = static_cast<std::size_t>(first + i);
        fit.add(y.data() + static_cast<std::size_t>(i) * coords,
                crop_labels(faces.faces[face].landmarks, crops.transforms[face]).data());
      }
    }
  }
  // W' = R W, b' = R b + r0, in double so the product adds no rounding of its own.
  const std::vector<float> r = fit.solve(ridge);
  const std::vector<float> w(fc.weight().data(), fc.weight().data() + coords * features);
  const std::vector<float> b(fc.bias().data(), fc.bias().data() + coords);
  for (std::size_t i = 0; i < coords; ++i) {
    const float* ri = r.data() + i * (coords + 1);
    for (std::size_t c = 0; c < features; ++c) {
      double sum = 0;
      for (std::size_t j = 0; j < coords; ++j) sum += static_cast<double>(ri[j]) * w[j * features + c];
      fc.weight().data()[i * features + c] = static_cast<float>(sum);
    }
    double sum = ri[coords];
    for (std::size_t j = 0; j < coords; ++j) sum += static_cast<double>(ri[j]) * b[j];
    fc.bias().data()[i] = static_cast<float>(sum);
  }
}

}  // namespace pfld::train
