// YuNet (Wu, Peng, Yu, "YuNet: A Tiny Millisecond-level Face Detector", 2023), the CNN face detector of
// OpenCV Zoo and libfacedetection, run on pfld's own kernels: its ONNX file imported into a GraphNet at
// the size of each photo (padded right and bottom to a multiple of 32), then decoded into boxes and five
// keypoints per face, and non-maximum suppression.
//
//   pfld::YuNet yunet = pfld::YuNet::load("face_detection_yunet_2023mar.onnx");
//   for (const pfld::FaceDetection& face : yunet.detect(image_view)) { /* face.box, face.keypoints, face.score */ }
//
// The network reads BGR pixels, 0-255, unnormalised; it gives at strides 8, 16 and 32 a score pair
// (cls, obj, after their sigmoids), a box (centre offset in cells, log size in cells) and ten keypoint
// coordinates (offsets in cells) per grid cell, row-major.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../data/image.hpp"
#include "../data/landmarks.hpp"
#include "../infer/onnx_import.hpp"
#include "face_detector.hpp"
#include "region_mapping.hpp"

namespace pfld {
inline namespace facedet {

// Calibrated on ../shared/data/300w/train (1062 faces, all found, and their mirror images) with
//   build/release/examples/pfld_face_calibration --data ../shared/data/300w/train
// Median distance of the mapped region's centre from the landmarks' there: 2.8 % of its side, size
// error 3.4 % (the box alone, centred and unscaled: 16 % and 9.7 %).
inline KeypointMapping default_yunet_mapping() {
  return KeypointMapping{{{
      {0.0f, 0.07925f, 0.0f, 0.07925f, 0.0f, -0.44537f, 0.0f, 0.24805f, 0.36145f, 0.24805f, -0.36145f},
      {0.09959f, 0.54480f, 0.22767f, -0.54480f, 0.22767f, 0.0f, -0.20788f, -0.57595f, 0.26560f, 0.57595f, 0.26560f},
      {0.90948f, -1.00794f, -0.30272f, 1.00794f, -0.30272f, 0.0f, 0.55384f, 1.03327f, -0.32660f, -1.03327f, -0.32660f},
  }}};
}

struct YuNetOptions {
  Isa isa = active_isa();
  float score_threshold = 0.6f;  // on sqrt(cls * obj), as OpenCV's FaceDetectorYN
  float nms_iou = 0.3f;          // boxes overlapping a better one by more are dropped
  float min_face = 0.0f;         // boxes with a smaller side (pixels) are dropped
  int max_side = 4096;           // photos with a longer side are refused (the graph grows with the photo)
  KeypointMapping mapping = default_yunet_mapping();
  // int8 (null: float): the network's calibrated ranges (calibrate_yunet, or a file of them:
  // load_activation_ranges); its convolutions, max pools and pyramid sums then run on bytes.
  std::shared_ptr<const ActivationRanges> int8;
};

namespace detail_yunet {

// The network's input for `image`: BGR floats 0-255 (as it was trained) of an h x w canvas, the image
// at its top left shrunk by `shrink` (>= 1: nearest pixel), zeros elsewhere.
inline void fill_input(const ImageView& image, int shrink, float* in, int h, int w) {
  const int iw = std::min(w, image.width / shrink), ih = std::min(h, image.height / shrink);
  const std::size_t row = static_cast<std::size_t>(w) * 3;
  for (int y = 0; y < ih; ++y) {
    float* out = in + static_cast<std::size_t>(y) * row;
    const std::uint8_t* p = image.row(y * shrink);
    for (int x = 0; x < iw; ++x) {
      const std::uint8_t* px = p + static_cast<std::size_t>(x) * shrink * (image.format == PixelFormat::gray ? 1 : 3);
      float* o = out + 3 * static_cast<std::size_t>(x);
      switch (image.format) {
        case PixelFormat::bgr: o[0] = px[0], o[1] = px[1], o[2] = px[2]; break;
        case PixelFormat::rgb: o[0] = px[2], o[1] = px[1], o[2] = px[0]; break;
        case PixelFormat::gray: o[0] = o[1] = o[2] = px[0]; break;
      }
    }
    std::fill(out + 3 * static_cast<std::size_t>(iw), out + row, 0.0f);
  }
  std::fill(in + static_cast<std::size_t>(ih) * row, in + static_cast<std::size_t>(h) * row, 0.0f);
}

}  // namespace detail_yunet

// Thread safety: detect() keeps the graph and arena of the last photo size, so a YuNet serves one thread
// at a time; copies share nothing but the parsed model.
class YuNet final : public FaceDetector {
 public:
  static constexpr int kStrides[3] = {8, 16, 32};
  // The four heads of each stride: output name prefix and channels per grid cell.
  struct Head {
    const char* prefix;
    int channels;
  };
  static constexpr Head kHeads[4] = {{"cls_", 1}, {"obj_", 1}, {"bbox_", 4}, {"kps_", 10}};

  YuNet(io::OnnxModel model, std::string source, const YuNetOptions& options = {})
      : model_(std::make_shared<const io::OnnxModel>(std::move(model))), source_(std::move(source)), options_(options) {
    for (int s : kStrides)
      for (const Head& head : kHeads) {
        const std::string name = head.prefix + std::to_string(s);
        bool found = false;
        for (const io::OnnxValue& o : model_->outputs) found = found || o.name == name;
        detail::require(found, source_, ": no output '", name, "': not a YuNet face detector");
      }
    if (options_.int8) {  // ranges of another network would leave every layer float, silently
      std::set<std::string> tensors;
      for (const io::OnnxValue& v : model_->inputs) tensors.insert(v.name);
      for (const io::OnnxNode& n : model_->nodes) tensors.insert(n.outputs.begin(), n.outputs.end());
      detail::require(!options_.int8->ranges.empty(), source_, ": the int8 ranges are empty");
      for (const auto& [name, range] : options_.int8->ranges)
        detail::require(tensors.count(name) > 0, source_, ": the int8 ranges name tensor '", name,
                        "', which this network does not have (ranges of another model?)");
    }
  }

  static YuNet load(const std::string& path, const YuNetOptions& options = {}) {
    return YuNet(io::read_onnx(path), path, options);
  }

  // A copy shares the parsed model and builds its own graph and arena when it first detects (an arena's
  // storage is shared between copies of it, so it must not be copied).
  YuNet(const YuNet& other) : YuNet(other.model_, other.source_, other.options_) {}
  YuNet& operator=(const YuNet& other) {
    if (this != &other) *this = YuNet(other);
    return *this;
  }
  YuNet(YuNet&&) = default;
  YuNet& operator=(YuNet&&) = default;

  const YuNetOptions& options() const { return options_; }

  FaceRegion landmark_region(const FaceDetection& face) const override { return options_.mapping.apply(face); }

  std::unique_ptr<FaceDetector> clone() const override { return std::make_unique<YuNet>(*this); }

  // The last run's raw output `name` ("cls_8" ... "kps_32"): positions x channels, row-major.
  const float* raw_output(const std::string& name) {
    detail::require(graph_ != nullptr, "YuNet: no detection has run yet");
    return graph_->output(arena_, name);
  }

 private:
  YuNet(std::shared_ptr<const io::OnnxModel> model, std::string source, const YuNetOptions& options)
      : model_(std::move(model)), source_(std::move(source)), options_(options) {}

  std::vector<FaceDetection> find(const ImageView& image, ThreadPool*) override {
    detail::require(std::max(image.width, image.height) <= options_.max_side, "face detection: a ", image.width, "x",
                    image.height, " image is larger than YuNetOptions::max_side ", options_.max_side);
    const int h = (image.height + 31) / 32 * 32, w = (image.width + 31) / 32 * 32;
    prepare(h, w);
    detail_yunet::fill_input(image, 1, graph_->input(arena_), h, w);
    graph_->run_graph(arena_);
    return suppress_overlaps(decode(h, w), options_.nms_iou);
  }

  void prepare(int h, int w) {
    if (graph_ && graph_->input_height() == h && graph_->input_width() == w) return;
    OnnxImportOptions import;
    import.isa = options_.isa;
    import.max_input_size = options_.max_side + 31;
    import.int8 = options_.int8.get();
    graph_ = import_onnx_graph(*model_, import, source_, h, w);
    for (const auto& [name, v] : graph_->outputs())
      for (int s : kStrides)
        for (const Head& head : kHeads)
          detail::require(name != head.prefix + std::to_string(s) ||
                              v.size() == static_cast<std::size_t>(h / s) * static_cast<std::size_t>(w / s) *
                                              static_cast<std::size_t>(head.channels),
                          source_, ": output ", name, " holds ", v.size(), " values for a ", w, "x", h, " input");
    arena_ = graph_->make_arena();
  }

  std::vector<FaceDetection> decode(int h, int w) {
    std::vector<FaceDetection> faces;
    for (int s : kStrides) {
      const std::string tag = std::to_string(s);
      const float* cls = raw_output("cls_" + tag);
      const float* obj = raw_output("obj_" + tag);
      const float* box = raw_output("bbox_" + tag);
      const float* kps = raw_output("kps_" + tag);
      const int cols = w / s, rows = h / s;
      for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
          const std::size_t i = static_cast<std::size_t>(r) * cols + c;
          const float score = std::sqrt(std::max(0.0f, cls[i]) * std::max(0.0f, obj[i]));
          if (!(score >= options_.score_threshold)) continue;
          const float* b = box + 4 * i;
          const float bw = std::exp(b[2]) * static_cast<float>(s), bh = std::exp(b[3]) * static_cast<float>(s);
          if (!(std::min(bw, bh) >= options_.min_face) || !std::isfinite(bw) || !std::isfinite(bh)) continue;
          FaceDetection f;
          f.has_keypoints = true;
          f.score = std::min(score, 1.0f);
          f.box = Box{(static_cast<float>(c) + b[0]) * static_cast<float>(s) - bw / 2,
                      (static_cast<float>(r) + b[1]) * static_cast<float>(s) - bh / 2, bw, bh};
          for (std::size_t k = 0; k < 5; ++k)
            f.keypoints[k] = Point{(static_cast<float>(c) + kps[10 * i + 2 * k]) * static_cast<float>(s),
                                   (static_cast<float>(r) + kps[10 * i + 2 * k + 1]) * static_cast<float>(s)};
          faces.push_back(f);
        }
    }
    return faces;
  }

  std::shared_ptr<const io::OnnxModel> model_;
  std::string source_;
  YuNetOptions options_;
  std::shared_ptr<GraphNet> graph_;
  InferenceArena arena_;
};

// The ranges of YuNet's tensors for its int8 form (YuNetOptions::int8), calibrated on `count` photos (a
// few hundred with faces of the sizes it will meet), photo(i) giving photo i (a view valid until the
// next call; each is asked for twice): each at its top left of a side x side canvas (side a multiple of
// 32), shrunk by a whole factor where it is larger, as detect() pads a photo. Requires count >= 1.
inline ActivationRanges calibrate_yunet(const io::OnnxModel& model, int count, const std::function<ImageView(int)>& photo,
                                        const CalibrationOptions& options = {}, int side = 640, Isa isa = active_isa()) {
  detail::require(count >= 1, "calibrate_yunet: no photos");
  detail::require(side >= 32 && side % 32 == 0 && side <= 4096, "calibrate_yunet: canvas side ", side,
                  " (a multiple of 32 up to 4096)");
  OnnxImportOptions import;
  import.isa = isa;
  const std::shared_ptr<GraphNet> graph = import_onnx_graph(model, import, "calibrate_yunet", side, side);
  return calibrate_activations(
      *graph, count,
      [&](int i, float* input) {
        const ImageView p = photo(i);
        detail::require(!p.empty(), "calibrate_yunet: photo ", i, " is empty");
        const int shrink = (std::max(p.width, p.height) + side - 1) / side;
        detail_yunet::fill_input(p, shrink, input, side, side);
      },
      options);
}

inline ActivationRanges calibrate_yunet(const io::OnnxModel& model, const std::vector<ImageView>& photos,
                                        const CalibrationOptions& options = {}, int side = 640, Isa isa = active_isa()) {
  return calibrate_yunet(model, static_cast<int>(photos.size()), [&](int i) { return photos[static_cast<std::size_t>(i)]; },
                         options, side, isa);
}

}  // namespace facedet
}  // namespace pfld
