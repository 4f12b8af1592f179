// The face detector interface: a photo in, the faces in it out, each with the region a landmark network
// should crop. pfld has two: YuNet (yunet.hpp, a CNN, the default: load_face_detector) and OpenCV's
// boosted cascades (cascade_face_detector.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "../core/thread_pool.hpp"
#include "../data/crop.hpp"
#include "../data/image.hpp"
#include "../data/landmarks.hpp"

namespace pfld {
inline namespace facedet {

// One face a detector found, in image pixels.
struct FaceDetection {
  Box box;
  // The detector's confidence, higher is surer (YuNet: in [0, 1]; a cascade: its neighbour count).
  float score = 0.0f;
  // The subject's right eye, left eye, nose tip, right and left mouth corners (the right eye is on the
  // image's left in a frontal photo), when has_keypoints.
  std::array<Point, 5> keypoints{};
  bool has_keypoints = false;
};

// Intersection over union of two boxes.
inline float box_iou(const Box& a, const Box& b) {
  const float x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
  const float x1 = std::min(a.x + a.width, b.x + b.width), y1 = std::min(a.y + a.height, b.y + b.height);
  const float inter = std::max(0.0f, x1 - x0) * std::max(0.0f, y1 - y0);
  const float uni = a.width * a.height + b.width * b.height - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

// Greedy non-maximum suppression: the faces by falling score, each kept unless it overlaps a kept one
// by more than `iou`.
inline std::vector<FaceDetection> suppress_overlaps(std::vector<FaceDetection> faces, float iou) {
  std::stable_sort(faces.begin(), faces.end(),
                   [](const FaceDetection& a, const FaceDetection& b) { return a.score > b.score; });
  std::vector<FaceDetection> kept;
  for (const FaceDetection& f : faces) {
    bool overlaps = false;
    for (const FaceDetection& k : kept) overlaps = overlaps || box_iou(f.box, k.box) > iou;
    if (!overlaps) kept.push_back(f);
  }
  return kept;
}

// What every face detector does.
//
// Thread safety: detect() may keep scratch memory between calls (YuNet keeps its graph for the last
// photo size), so one object serves one thread at a time; clone() gives another thread its own.
// landmark_region() is const and safe from any thread.
class FaceDetector {
 public:
  virtual ~FaceDetector() = default;

  // The faces in `image`, best first. Requires a valid, non-empty image (else an Error).
  std::vector<FaceDetection> detect(const ImageView& image, ThreadPool* pool = nullptr) {
    detail::require(!image.empty(), "face detection: the image is empty");
    image.validate("face detection");
    return find(image, pool);
  }

  // Where the landmarks of a face this detector found lie: its calibrated map from the detection (box,
  // and keypoints where it has them) to the landmarks' region. What Detector::detect takes.
  virtual FaceRegion landmark_region(const FaceDetection& face) const = 0;

  // An independent copy for another thread (the model itself may be shared, read-only).
  virtual std::unique_ptr<FaceDetector> clone() const = 0;

 protected:
  FaceDetector() = default;
  FaceDetector(const FaceDetector&) = default;
  FaceDetector& operator=(const FaceDetector&) = default;

  // detect() for a checked image.
  virtual std::vector<FaceDetection> find(const ImageView& image, ThreadPool* pool) = 0;
};

}  // namespace facedet
}  // namespace pfld
