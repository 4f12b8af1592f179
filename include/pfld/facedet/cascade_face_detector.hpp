// OpenCV's boosted cascades as a FaceDetector: the optional, older detector (YuNet is the default).
//
// The default box mapping was calibrated for haarcascade_frontalface_alt2.xml on
// ../shared/data/300w/train (1062 faces, the median over the faces the cascade found) with
//   build/release/examples/pfld_face_calibration --data ../shared/data/300w/train --detector CASCADE
// which prints it for any cascade file. On the 145 faces of 300w/val that cascade finds 133 (91.7 %;
// lbpcascade_frontalface_improved, faster, finds 86.9 %).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cascade.hpp"
#include "face_detector.hpp"
#include "region_mapping.hpp"

namespace pfld {
inline namespace facedet {

// OpenCV's Haar frontal-face model "alt2" (Debian package opencv-data), the best of OpenCV's frontal
// cascades on 300-W.
inline std::string default_face_cascade() { return "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"; }

// Calibrated for haarcascade_frontalface_alt2.xml (see the header comment).
inline BoxMapping default_box_mapping() { return BoxMapping{0.0041f, 0.1499f, 0.8933f}; }

// Thread safety: detect() keeps nothing between calls; the cascade is shared by copies, read-only.
class CascadeFaceDetector final : public FaceDetector {
 public:
  explicit CascadeFaceDetector(CascadeClassifier cascade, const CascadeOptions& options = {},
                               const BoxMapping& mapping = default_box_mapping())
      : cascade_(std::make_shared<const CascadeClassifier>(std::move(cascade))), options_(options), mapping_(mapping) {}

  static CascadeFaceDetector load(const std::string& path = default_face_cascade(), const CascadeOptions& options = {},
                                  const BoxMapping& mapping = default_box_mapping()) {
    return CascadeFaceDetector(CascadeClassifier::load(path), options, mapping);
  }

  const CascadeClassifier& cascade() const { return *cascade_; }
  const CascadeOptions& options() const { return options_; }
  const BoxMapping& mapping() const { return mapping_; }

  FaceRegion landmark_region(const FaceDetection& face) const override { return mapping_.apply(face.box); }

  std::unique_ptr<FaceDetector> clone() const override { return std::make_unique<CascadeFaceDetector>(*this); }

 private:
  // Largest first, scored by neighbour count.
  std::vector<FaceDetection> find(const ImageView& image, ThreadPool* pool) override {
    std::vector<FaceDetection> out;
    for (const FaceBox& f : cascade_->detect(image, options_, pool)) {
      FaceDetection d;
      d.box = f.box;
      d.score = static_cast<float>(f.neighbors);
      out.push_back(d);
    }
    return out;
  }

  std::shared_ptr<const CascadeClassifier> cascade_;
  CascadeOptions options_;
  BoxMapping mapping_;
};

}  // namespace facedet
}  // namespace pfld
