// Running a trained network over annotated faces with the standard protocol: the crop is the square of
// 1.2x the ground-truth landmarks' box, predictions are mapped back to image pixels and compared there.
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

#include "../data/augment.hpp"
#include "../data/dataset.hpp"
#include "../infer/landmark_model.hpp"
#include "../model/pfld_net.hpp"
#include "metrics.hpp"

namespace pfld::eval {

// Standard crops of a face set, made once and reused (validation runs every epoch).
struct EvalCrops {
  Tensor images;                        // (faces, S, S, 3)
  std::vector<CropTransform> transforms;
};

inline EvalCrops make_eval_crops(const FaceSet& set, int size = 112, float box_scale = 1.2f,
                                 ThreadPool* pool = nullptr) {
  EvalCrops crops;
  const int n = static_cast<int>(set.size());
  crops.images = Tensor(Shape{n, size, size, 3});
  crops.transforms.resize(set.size());
  auto work = [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      crops.transforms[i] = CropTransform::from_box(bounding_box(set.faces[i].landmarks), size, box_scale);
      crops.transforms[i].warp(set.faces[i].image.view(), crops.images.data() + i * static_cast<std::size_t>(size) * size * 3);
    }
  };
  if (pool)
    pool->parallel_for(0, set.size(), work);
  else
    work(0, set.size());
  return crops;
}

// A crop's 2N label coordinates as N image points.
inline Landmarks labels_to_image(const float* labels, int points, const CropTransform& crop) {
  Landmarks face;
  for (int p = 0; p < points; ++p) face.push_back(crop.label_to_image({labels[2 * p], labels[2 * p + 1]}));
  return face;
}

// Landmarks in image pixels for every crop, from the network in eval mode (training mode is restored).
inline std::vector<Landmarks> predict(model::PfldNet& net, const EvalCrops& crops, int batch = 32) {
  nn::EvalModeScope eval(net);
  const int n = crops.images.dim(0), points = net.config().landmarks;
  std::vector<Landmarks> out;
  for (int first = 0; first < n; first += batch) {
    const int count = std::min(batch, n - first);
    const Tensor& labels = net.forward(crops.images.batch(first, count));
    for (int i = 0; i < count; ++i) {
      out.push_back(labels_to_image(labels.data() + static_cast<std::size_t>(i) * 2 * points, points,
                                    crops.transforms[static_cast<std::size_t>(first + i)]));
    }
  }
  return out;
}

// The same from a model of the inference engine (a shipped network, an imported one, an ensemble).
inline std::vector<Landmarks> predict(const LandmarkModel& model, const EvalCrops& crops) {
  const int n = crops.images.dim(0), s = model.input_size(), points = model.landmark_count();
  detail::require(crops.images.dim(1) == s && crops.images.dim(2) == s, "predict: crops ", crops.images.shape().str(),
                  " for a ", s, "x", s, " model");
  const std::size_t pixels = static_cast<std::size_t>(s) * s * 3;
  InferenceArena arena = model.make_arena();
  std::vector<Landmarks> out;
  for (int i = 0; i < n; ++i) {
    const float* labels = model.run(crops.images.data() + static_cast<std::size_t>(i) * pixels, arena);
    out.push_back(labels_to_image(labels, points, crops.transforms[static_cast<std::size_t>(i)]));
  }
  return out;
}

struct Evaluation {
  std::vector<Landmarks> predictions;
  std::vector<float> nmes;
  Summary summary;
  Point mean_signed_error{0, 0};  // in units of the normaliser: a sideways bias shows here
};

// Scores predictions (one per face of `set`, in image pixels) against the set's annotation.
inline Evaluation evaluate(std::vector<Landmarks> predictions, const FaceSet& set,
                           Normalization how = Normalization::inter_ocular) {
  detail::require(predictions.size() == set.size(), "evaluate: ", predictions.size(), " predictions for ", set.size(),
                  " faces");
  Evaluation e;
  e.predictions = std::move(predictions);
  double sx = 0, sy = 0, count = 0;
  for (std::size_t i = 0; i < set.size(); ++i) {
    const Landmarks& truth = set.faces[i].landmarks;
    e.nmes.push_back(nme(e.predictions[i], truth, how));
    const float d = normalizing_distance(truth, how);
    for (std::size_t p = 0; p < truth.size(); ++p) {
      sx += (e.predictions[i][p].x - truth[p].x) / d;
      sy += (e.predictions[i][p].y - truth[p].y) / d;
      ++count;
    }
  }
  e.mean_signed_error = {static_cast<float>(sx / count), static_cast<float>(sy / count)};
  e.summary = summarize(e.nmes);
  return e;
}

inline Evaluation evaluate(model::PfldNet& net, const FaceSet& set, const EvalCrops& crops,
                           Normalization how = Normalization::inter_ocular) {
  return evaluate(predict(net, crops), set, how);
}

}  // namespace pfld::eval
