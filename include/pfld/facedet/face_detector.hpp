// Face boxes for the landmark network: a cascade classifier plus the fixed mapping from its boxes to
// the box the landmark crops are defined on (the landmarks' bounding box, made square).
//
// A cascade's box is not the landmark box: haarcascade_frontalface_alt2's square sits about 15 % of its
// side higher than the landmarks' box and is about 12 % larger. BoxMapping moves the centre by a fraction of the detection's size
// and scales it. The defaults were calibrated on ../shared/data/300w/train (1062 faces, the median over
// the faces the cascade found) with
//   build/release/examples/pfld_face_calibration --data ../shared/data/300w/train
// which prints the numbers for any cascade file. On the 145 faces of 300w/val the default cascade finds
// 133 (91.7 %; lbpcascade_frontalface_improved, faster, finds 86.9 %).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cascade.hpp"

namespace pfld {

// The cascade pfld uses unless told otherwise: OpenCV's Haar frontal-face model "alt2" (Debian package
// opencv-data), the best of OpenCV's frontal cascades on 300-W.
inline std::string default_face_cascade() { return "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"; }

// landmark box centre = detection centre + (shift_x * width, shift_y * height); side = scale * width.
struct BoxMapping {
  float shift_x = 0.0f;
  float shift_y = 0.0f;
  float scale = 1.0f;

  Box apply(const Box& detection) const {
    const float side = scale * detection.width;
    const float cx = detection.center_x() + shift_x * detection.width;
    const float cy = detection.center_y() + shift_y * detection.height;
    return Box{cx - side / 2, cy - side / 2, side, side};
  }
};

// Calibrated for haarcascade_frontalface_alt2.xml (see the header comment).
inline BoxMapping default_box_mapping() { return BoxMapping{0.0041f, 0.1499f, 0.8933f}; }

class FaceDetector {
 public:
  explicit FaceDetector(CascadeClassifier cascade, const CascadeOptions& options = {},
                        const BoxMapping& mapping = default_box_mapping())
      : cascade_(std::move(cascade)), options_(options), mapping_(mapping) {}

  static FaceDetector load(const std::string& cascade_path = default_face_cascade(), const CascadeOptions& options = {},
                           const BoxMapping& mapping = default_box_mapping()) {
    return FaceDetector(CascadeClassifier::load(cascade_path), options, mapping);
  }

  const CascadeClassifier& cascade() const { return cascade_; }
  const CascadeOptions& options() const { return options_; }
  const BoxMapping& mapping() const { return mapping_; }

  // The cascade's own boxes, largest first.
  std::vector<FaceBox> detect(const ImageView& image, ThreadPool* pool = nullptr) const {
    return cascade_.detect(image, options_, pool);
  }

  // A detection's box in the landmark convention: what Detector::detect takes.
  Box landmark_box(const FaceBox& face) const { return mapping_.apply(face.box); }

 private:
  CascadeClassifier cascade_;
  CascadeOptions options_;
  BoxMapping mapping_;
};

}  // namespace pfld
