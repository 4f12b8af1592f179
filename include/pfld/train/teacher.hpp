// A teacher built from trained networks, for distillation (pfld_train --teacher) and for labelling
// unlabelled faces (pseudo_labels.hpp): each member put into the training faces' landmark scheme, and
// the members' mean.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../data/dataset.hpp"
#include "../data/mirror.hpp"
#include "../infer/detector.hpp"
#include "../infer/ensemble_model.hpp"
#include "../infer/linear_readout.hpp"
#include "../infer/mirror_averaged_model.hpp"
#include "fit_readout.hpp"

namespace pfld::train {

struct TeacherOptions {
  // Each member's prediction averaged with its prediction on the mirrored crop.
  bool mirror = false;
  // Each member read through a linear map of its points fitted on the faces (fit_linear_readout), else
  // mapped by the fixed point correspondence when its scheme differs (remap_landmarks).
  bool readout = false;
  ReadoutFitOptions readout_fit;
};

// The members (in the order of their files) and their mean (the member itself when there is one). The
// models are immutable: share them between threads, each thread with its own arenas.
struct Teacher {
  std::vector<std::shared_ptr<const LandmarkModel>> members;
  std::shared_ptr<const LandmarkModel> mean;
};

// Requires: at least one file; each a .pfld or .onnx landmark network taking 112x112 crops; `faces` of
// the scheme the teacher is to predict (68 points for 300-W), annotated (the readout is fitted on them);
// `mirror`: that scheme's mirror map (used with options.mirror when a member predicts that scheme).
// Throws pfld::Error naming the file that does not fit.
inline Teacher build_teacher(const std::vector<std::string>& paths, const FaceSet& faces, const MirrorMap& mirror,
                             const TeacherOptions& options) {
  detail::require(!paths.empty(), "teacher: no network files");
  Teacher teacher;
  for (const std::string& path : paths) {
    try {
      std::shared_ptr<const LandmarkModel> net = load_landmark_model(path);
      detail::require(net->input_size() == 112, "takes ", net->input_size(), "x", net->input_size(),
                      " crops, not 112x112");
      if (options.mirror) {
        const int n = net->landmark_count();
        net = std::make_shared<const MirrorAveragedModel>(net, n == faces.landmark_count ? mirror : mirror_map_for(n));
      }
      if (options.readout)
        net = fit_linear_readout(net, faces, options.readout_fit);
      else if (net->landmark_count() != faces.landmark_count)
        net = remap_landmarks(net, faces.landmark_count);
      teacher.members.push_back(std::move(net));
    } catch (const Error& e) {
      throw Error("teacher " + path + ": " + e.what());
    }
  }
  teacher.mean = teacher.members.size() == 1
                     ? teacher.members[0]
                     : std::make_shared<const EnsembleModel>(teacher.members);
  return teacher;
}

}  // namespace pfld::train
