// Recalibrating a trained network's landmark layer by least squares. Training fits the landmarks only
// approximately: it minimises an L1 or weighted loss with a decaying step, and with flips it averages
// away 300-W's left-right annotation differences. A linear readout of the network's own coordinates
// (fit_readout.hpp) corrects what is left that is linear; it folds into the fully connected layer, so the
// network keeps its shape and speed. (Fitted from the 176 features under that layer directly instead,
// it overfits: weights/README.md.)
#pragma once

#include <memory>
#include <vector>

#include "../model/inference_graph.hpp"
#include "../model/pfld_net.hpp"
#include "fit_readout.hpp"

namespace pfld::train {

// fc <- R o fc, R the readout fitted to the network (as inference runs it) on `faces`.
inline void refit_output_layer(model::PfldNet& net, const FaceSet& faces, const ReadoutFitOptions& options = {}) {
  detail::require(faces.landmark_count == net.config().landmarks, "refit_output_layer: faces of ",
                  faces.landmark_count, " landmarks for a network of ", net.config().landmarks);
  nn::Linear& fc = net.fc();
  detail::require(fc.has_bias(), "refit_output_layer: the output layer has no bias");
  const auto readout = fit_linear_readout(build_inference_graph(net), faces, options);
  // W' = R W, b' = R b + r0, in double so the product adds no rounding of its own.
  const std::size_t coords = static_cast<std::size_t>(fc.out_features());
  const std::size_t features = static_cast<std::size_t>(fc.in_features());
  const std::vector<float>& r = readout->weights();
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
