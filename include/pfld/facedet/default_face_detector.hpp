// The face detector pfld uses unless told otherwise, and loading one by its file.
#pragma once

#include <memory>
#include <string>

#include "../core/compilation.hpp"
#include "../io/shipped_weights.hpp"
#include "face_detector.hpp"
#if PFLD_DEFINE_ENTRIES
#include "cascade_face_detector.hpp"
#include "yunet.hpp"
#endif

namespace pfld {
inline namespace facedet {

// YuNet, as shipped in weights/ (OpenCV Zoo's face_detection_yunet_2023mar.onnx, MIT license).
inline std::string default_face_detector_path() { return io::shipped_weights("face_detection_yunet_2023mar.onnx"); }

// The detector in `path`: an ONNX file is a YuNet network, a .ranges file YuNet in int8 (its calibrated
// activation ranges, whose "model" line names the ONNX file beside it: pfld_convert --quantize), an XML
// file an OpenCV cascade; each with its default options and calibrated region mapping, except a
// `min_face` above 0 (pixels: smaller faces are not reported).
PFLD_ENTRY std::unique_ptr<FaceDetector> load_face_detector(const std::string& path, float min_face = 0.0f);

// The default detector.
PFLD_ENTRY std::unique_ptr<FaceDetector> load_face_detector();

#if PFLD_DEFINE_ENTRIES
PFLD_ENTRY std::unique_ptr<FaceDetector> load_face_detector(const std::string& path, float min_face) {
  auto ends_with = [&](const char* suffix) {
    const std::string s(suffix);
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  YuNetOptions yunet;
  if (min_face > 0) yunet.min_face = min_face;
  if (ends_with(".onnx")) return std::make_unique<YuNet>(YuNet::load(path, yunet));
  if (ends_with(".ranges")) {
    auto ranges = std::make_shared<const ActivationRanges>(load_activation_ranges(path));
    const std::string model = model_of(*ranges, path);
    yunet.int8 = std::move(ranges);
    try {
      return std::make_unique<YuNet>(YuNet::load(model, yunet));
    } catch (const Error& e) {
      detail::fail(path, ": ", e.what());
    }
  }
  if (ends_with(".xml")) {
    CascadeOptions options;
    if (min_face > 0) options.min_face = min_face;
    return std::make_unique<CascadeFaceDetector>(CascadeFaceDetector::load(path, options));
  }
  detail::fail(path, ": not a face detector pfld knows (a YuNet .onnx or .ranges file, or an OpenCV cascade .xml)");
}

PFLD_ENTRY std::unique_ptr<FaceDetector> load_face_detector() { return load_face_detector(default_face_detector_path()); }
#endif

}  // namespace facedet
}  // namespace pfld
