// The API most programs need: a face box in an image in, landmarks in image pixels out.
//
//   auto detector = pfld::Detector::load("weights/pfld-0.25x-68.pfld");
//   pfld::Landmarks points = detector.detect(image, pfld::Box{x, y, w, h});
//
//   for (const pfld::DetectedFace& face : detector.detect_all(image)) { /* every face of a photo */ }
//
// Thread safety: a Detector owns the scratch memory of its runs (and its face detector's), so one
// Detector serves one thread at a time. Copies are cheap (the packed weights and the face detector's
// model are shared, each copy gets its own arenas): give each thread its own copy, or use the batch
// calls, which spread the faces over the thread pool.
#pragma once

#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../core/thread_pool.hpp"
#include "../data/crop.hpp"
#include "../data/head_pose.hpp"
#include "../data/image.hpp"
#include "../data/landmarks.hpp"
#include "../data/mirror.hpp"
#include "../core/compilation.hpp"
#include "../facedet/default_face_detector.hpp"
#include "linear_readout.hpp"
#include "pfld_graph.hpp"
#if PFLD_DEFINE_ENTRIES
#include "onnx_import.hpp"
#endif

namespace pfld {
inline namespace infer {

// A pfld weights or checkpoint file (see save_weights), or an ONNX model (a path ending in .onnx, imported
// with default options: input RGB in [0, 1], landmarks in crop units).
PFLD_ENTRY std::shared_ptr<const LandmarkModel> load_landmark_model(const std::string& path, Isa isa = active_isa());

#if PFLD_DEFINE_ENTRIES
PFLD_ENTRY std::shared_ptr<const LandmarkModel> load_landmark_model(const std::string& path, Isa isa) {
  if (path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0) {
    OnnxImportOptions onnx;
    onnx.isa = isa;
    return load_onnx(path, onnx);
  }
  return load_inference_graph(path, isa);
}
#endif

// One face of detect_all: what the face detector found, the landmark region it maps to, the landmarks.
struct DetectedFace {
  FaceDetection detection;
  FaceRegion region;
  Landmarks landmarks;
};

struct DetectorOptions {
  Isa isa = active_isa();
  // The landmark count the caller expects; 0 takes whatever the weights have. Weights of another known
  // scheme answer through the point correspondence (a WFLW-98 model asked for 68 points: remap_landmarks).
  int landmarks = 0;
  float box_scale = 1.2f;  // crop side = box_scale x the box's longer side (the training crop)
  // Test-time mirroring: also run the left-right mirrored crop and average the two predictions (each
  // point with its mirror partner's). Twice the time per face, a lower error (weights/README.md gives
  // the shipped weights' numbers). Needs a built-in mirror map (68 or 98 points).
  bool mirror_average = false;
  // Passes after the first that crop the face again around the landmarks just found: the standard crop
  // of their bounding box (box_scale x its longer side), the crop the network was trained on, whatever
  // box the caller gave (a face detector's frames the face differently). Each pass costs one more run.
  int refine = 0;
  // Refine passes turn their crop by the face's roll (the eye line of the landmarks just found, 68 or 98
  // points; other schemes are cropped unturned), so that a tilted head reaches the network upright, as
  // the training faces mostly were (shipped 0.25X, 300-W val faces turned by +-45 degrees: 12.3 % NME in
  // one pass, 3.8 % after two upright refine passes; weights/README.md). With AVX2 a turned crop's warp
  // costs what an unturned one's does (pfld_bench warp/...).
  bool upright = true;
};

class Detector {
 public:
  explicit Detector(std::shared_ptr<const LandmarkModel> net, const DetectorOptions& options = {})
      : net_(with_landmarks(std::move(net), options.landmarks)), options_(options) {
    detail::require(std::isfinite(options_.box_scale) && options_.box_scale > 0, "Detector: box_scale ",
                    options_.box_scale, " is not positive");
    detail::require(options_.refine >= 0, "Detector: refine must be 0 or more passes, got ", options_.refine);
    if (options_.mirror_average) mirror_ = mirror_map_for(net_->landmark_count());
    arena_ = net_->make_arena();
  }

  // With a face detector for detect_all (else the default one is loaded when detect_all first needs it).
  Detector(std::shared_ptr<const LandmarkModel> net, std::unique_ptr<FaceDetector> faces, const DetectorOptions& options = {})
      : Detector(std::move(net), options) {
    faces_ = std::move(faces);
  }

  // From a weights file or ONNX model (load_landmark_model).
  static Detector load(const std::string& path, const DetectorOptions& options = {}) {
    return Detector(load_landmark_model(path, options.isa), options);
  }

  Detector(const Detector& other) : Detector(other.net_, other.options_) {
    if (other.faces_) faces_ = other.faces_->clone();
  }
  Detector& operator=(const Detector& other) {
    if (this != &other) *this = Detector(other);
    return *this;
  }
  Detector(Detector&&) = default;
  Detector& operator=(Detector&&) = default;

  const LandmarkModel& net() const { return *net_; }
  int landmark_count() const { return net_->landmark_count(); }
  const DetectorOptions& options() const { return options_; }

  // The crop the network sees for a face region: a square of box_scale x its side, turned by its angle,
  // resampled to input_size(). Maps between crop and image coordinates (.mirrored(): its mirror image).
  CropTransform crop_transform(const FaceRegion& face) const {
    return CropTransform::from_region(face, net_->input_size(), options_.box_scale);
  }
  CropTransform crop_transform(const Box& face) const { return crop_transform(FaceRegion::from_box(face)); }

  // Landmarks of the face in `face` (a face detector's landmark_region, or a landmark box), in image
  // pixel coordinates. Parts of the crop outside the image are zero (black).
  Landmarks detect(const ImageView& image, const FaceRegion& face) {
    Landmarks points;
    detect(image, face, points);
    return points;
  }
  Landmarks detect(const ImageView& image, const Box& face) {
    Landmarks points;
    detect(image, face, points);
    return points;
  }

  // The same into `points`: no allocation once `points` has the capacity.
  void detect(const ImageView& image, const FaceRegion& face, Landmarks& points) {
    check_input(image, face);
    run(image, face, arena_, points);
  }
  void detect(const ImageView& image, const Box& face, Landmarks& points) {
    check_input(image, face);
    run(image, FaceRegion::from_box(face), arena_, points);
  }

  // Landmarks of a face whose landmarks are known roughly already (a video's previous frame, say): the
  // first crop is the one a refine pass would take around `previous` (turned upright by its eye line
  // unless options().upright is false), then options().refine more passes. A tilted head needs no
  // unturned first pass, so one run is enough where detect needs two.
  Landmarks track(const ImageView& image, const Landmarks& previous) {
    Landmarks points;
    track(image, previous, points);
    return points;
  }

  // The same into `points` (which may be `previous` itself): no allocation once it has the capacity.
  void track(const ImageView& image, const Landmarks& previous, Landmarks& points) {
    detail::require(previous.size() == static_cast<std::size_t>(landmark_count()), "track: ", previous.size(),
                    " previous landmarks, the detector predicts ", landmark_count());
    require_finite(previous, "track: previous landmarks");
    const Box around = bounding_box(previous);
    detail::require(around.width > 0 && around.height > 0, "track: the previous landmarks frame nothing (box ", around.width,
                    "x", around.height, ")");
    check_input(image, around);
    predict(image, refine_crop(previous), arena_, points);
    refine(image, arena_, points);
  }

  // Many faces of one image, spread over the thread pool (default: the process-wide one).
  std::vector<Landmarks> detect(const ImageView& image, const std::vector<FaceRegion>& faces, ThreadPool* pool = nullptr) {
    for (const FaceRegion& face : faces) check_input(image, face);
    std::vector<Landmarks> out(faces.size());
    if (faces.empty()) return out;
    if (!pool) pool = &default_thread_pool();
    while (batch_arenas_.size() < static_cast<std::size_t>(pool->size())) {
      batch_arenas_.push_back(std::make_unique<Slot>());
      batch_arenas_.back()->arena = net_->make_arena();
    }
    pool->parallel_for(0, faces.size(), [&](std::size_t lo, std::size_t hi) {
      Slot& slot = claim_slot();
      for (std::size_t i = lo; i < hi; ++i) run(image, faces[i], slot.arena, out[i]);
      slot.busy.store(false, std::memory_order_release);
    });
    return out;
  }
  std::vector<Landmarks> detect(const ImageView& image, const std::vector<Box>& faces, ThreadPool* pool = nullptr) {
    for (const Box& face : faces) check_input(image, face);
    std::vector<FaceRegion> regions;
    for (const Box& face : faces) regions.push_back(FaceRegion::from_box(face));
    return detect(image, regions, pool);
  }

  // The face detector detect_all uses: the one given, else the default (load_face_detector(), YuNet from
  // the shipped weights), loaded on first use.
  void set_face_detector(std::unique_ptr<FaceDetector> faces) { faces_ = std::move(faces); }
  FaceDetector& face_detector() {
    if (!faces_) faces_ = load_face_detector();
    return *faces_;
  }

  // Every face the face detector finds, best first, with its landmarks (the faces spread over the
  // thread pool).
  std::vector<DetectedFace> detect_all(const ImageView& image, ThreadPool* pool = nullptr) {
    detail::require(!image.empty(), "detect_all: the image is empty");
    FaceDetector& faces = face_detector();
    const std::vector<FaceDetection> found = faces.detect(image, pool);
    std::vector<FaceRegion> regions;
    for (const FaceDetection& f : found) regions.push_back(faces.landmark_region(f));
    std::vector<Landmarks> points = detect(image, regions, pool);
    std::vector<DetectedFace> out;
    for (std::size_t i = 0; i < found.size(); ++i) out.push_back({found[i], regions[i], std::move(points[i])});
    return out;
  }

  // Head pose (yaw, pitch, roll in degrees) from landmarks this detector returned for `face`, by PnP on
  // the 14 pose points in the crop frame (the aux net's labels, without the aux net).
  HeadPose head_pose(const Landmarks& points, const Box& face) const { return head_pose(points, FaceRegion::from_box(face)); }
  HeadPose head_pose(const Landmarks& points, const FaceRegion& face) const {
    detail::require(points.size() == static_cast<std::size_t>(landmark_count()), "head_pose: ", points.size(),
                    " landmarks, the detector predicts ", landmark_count());
    const CropTransform crop = crop_transform(face);
    Landmarks in_crop;
    in_crop.reserve(points.size());
    for (const Point& p : points) in_crop.push_back(crop.image_to_crop(p));
    return estimate_head_pose(in_crop, net_->input_size());
  }

 private:
  struct Slot {
    InferenceArena arena;
    std::atomic<bool> busy{false};
  };

  static std::shared_ptr<const LandmarkModel> with_landmarks(std::shared_ptr<const LandmarkModel> net, int landmarks) {
    detail::require(net != nullptr, "Detector: no network");
    if (landmarks == 0 || landmarks == net->landmark_count()) return net;
    detail::require(landmarks > 0, "Detector: ", landmarks, " landmarks asked for");
    try {
      return remap_landmarks(net, landmarks);
    } catch (const Error& e) {
      detail::fail("Detector: the weights predict ", net->landmark_count(), " landmarks, ", landmarks,
                   " were asked for: ", e.what());
    }
  }

  static void check_input(const ImageView& image, const FaceRegion& region) {
    region.validate("detect");
    check_input(image, region.bounds());
  }

  static void check_input(const ImageView& image, const Box& face) {
    detail::require(!image.empty(), "detect: the image is empty");
    image.validate("detect");
    face.validate("detect");
    // Pixel i covers [i - 0.5, i + 0.5]: the image spans [-0.5, W - 0.5] x [-0.5, H - 0.5].
    const bool outside = face.x >= static_cast<float>(image.width) - 0.5f || face.y >= static_cast<float>(image.height) - 0.5f ||
                         face.x + face.width <= -0.5f || face.y + face.height <= -0.5f;
    detail::require(!outside, "detect: face box (", face.x, ", ", face.y, ", ", face.width, "x", face.height,
                    ") lies entirely outside the ", image.width, "x", image.height, " image");
  }

  // The network on one crop of the image: its labels, valid until the arena's next run.
  const float* run_crop(const ImageView& image, const CropTransform& crop, InferenceArena& arena) const {
    crop.warp(image, net_->input(arena));
    return net_->run(arena);
  }

  // (the caller checked the input)
  void run(const ImageView& image, const FaceRegion& face, InferenceArena& arena, Landmarks& points) const {
    predict(image, crop_transform(face), arena, points);
    refine(image, arena, points);
  }

  // options_.refine passes, each from the crop around the points before it.
  void refine(const ImageView& image, InferenceArena& arena, Landmarks& points) const {
    for (int pass = 0; pass < options_.refine; ++pass) {
      const Box around = bounding_box(points);
      if (!(around.width > 0 && around.height > 0)) break;  // (all points at one spot: nothing to frame)
      predict(image, refine_crop(points), arena, points);
    }
  }

  // The standard crop of the points' box, turned upright by their eye line (options_.upright, 68 or 98
  // points).
  CropTransform refine_crop(const Landmarks& points) const {
    Point left, right;
    const float roll = options_.upright && eye_centres(points, left, right) ? upright_angle(left, right) : 0.0f;
    return CropTransform::around(points, net_->input_size(), options_.box_scale, roll);
  }

  // One prediction from `crop` (and its mirror image, when averaging).
  void predict(const ImageView& image, const CropTransform& crop, InferenceArena& arena, Landmarks& points) const {
    const float* labels = run_crop(image, crop, arena);
    const std::size_t n = static_cast<std::size_t>(landmark_count());
    points.resize(n);
    for (std::size_t i = 0; i < n; ++i) points[i] = crop.label_to_image({labels[2 * i], labels[2 * i + 1]});
    if (mirror_.empty()) return;
    // In the mirrored crop, point i of the face is the network's point mirror_[i]; the mirrored
    // transform takes its labels straight back to image pixels.
    const CropTransform mirrored = crop.mirrored();
    labels = run_crop(image, mirrored, arena);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t j = static_cast<std::size_t>(mirror_[i]);
      const Point q = mirrored.label_to_image({labels[2 * j], labels[2 * j + 1]});
      points[i] = {0.5f * (points[i].x + q.x), 0.5f * (points[i].y + q.y)};
    }
  }

  Slot& claim_slot() {
    for (;;)
      for (auto& slot : batch_arenas_) {
        bool expected = false;
        if (slot->busy.compare_exchange_strong(expected, true, std::memory_order_acquire)) return *slot;
      }
  }

  std::shared_ptr<const LandmarkModel> net_;
  DetectorOptions options_;
  MirrorMap mirror_;  // empty unless options_.mirror_average
  InferenceArena arena_;
  std::vector<std::unique_ptr<Slot>> batch_arenas_;
  std::unique_ptr<FaceDetector> faces_;
};

}  // namespace infer
}  // namespace pfld
