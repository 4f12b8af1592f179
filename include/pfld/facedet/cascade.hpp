// A boosted-cascade face detector that runs the classifiers OpenCV publishes (BSD-3; Debian package
// opencv-data: /usr/share/opencv4/lbpcascades/*.xml and haarcascades/*.xml), read at run time.
//
// The evaluation follows OpenCV's CascadeClassifier (new XML format): an image pyramid with scale step
// `scale_step`, the classifier's fixed window slid over each level (every pixel above 2x, every other
// pixel below), stage sums of tree leaves against the stage thresholds, then overlapping hits grouped
// and those with fewer than `min_neighbors` neighbours dropped. LBP features compare the 8 blocks around
// a centre block (sums from an integral image); Haar features are weighted rectangle sums normalised by
// the window's standard deviation.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../core/parse.hpp"
#include "../core/thread_pool.hpp"
#include "../data/image.hpp"
#include "../data/landmarks.hpp"
#include "xml.hpp"

namespace pfld {
inline namespace facedet {

// One face found by the cascade: its box in image pixels and how many raw hits were grouped into it.
struct FaceBox {
  Box box;
  int neighbors = 0;
};

struct CascadeOptions {
  float scale_step = 1.1f;  // pyramid factor between levels (> 1)
  int min_neighbors = 3;    // raw hits a group needs to count as a face
  float min_face = 40.0f;   // smallest face side searched, in image pixels
  float max_face = 0.0f;    // largest (0: no limit)
};

class CascadeClassifier {
 public:
  enum class FeatureType { lbp, haar };

  // Reads an OpenCV cascade XML file (new format: <cascade><stageType>BOOST ...).
  static CascadeClassifier load(const std::string& path) { return from_xml(*xml::read_file(path), path); }

  // The same from the file's text; `source` names it in errors.
  static CascadeClassifier parse(std::string text, const std::string& source) {
    return from_xml(*xml::parse(std::move(text), source), source);
  }

  FeatureType feature_type() const { return type_; }
  int window_width() const { return window_w_; }
  int window_height() const { return window_h_; }
  std::size_t stage_count() const { return stages_.size(); }
  const std::string& source() const { return source_; }

  // Faces in the image, largest first.
  std::vector<FaceBox> detect(const ImageView& image, const CascadeOptions& options = {},
                              ThreadPool* pool = nullptr) const {
    image.validate("face detection");
    detail::require(options.scale_step > 1.0f && std::isfinite(options.scale_step), "face detection: scale_step ",
                    options.scale_step, " must be > 1");
    detail::require(options.min_face >= 0 && options.max_face >= 0, "face detection: negative face size");
    if (!pool) pool = &default_thread_pool();
    std::vector<std::uint8_t> gray = to_gray(image);
    std::vector<Box> hits;
    std::mutex hits_mutex;
    for (double factor = 1.0;; factor *= options.scale_step) {
      const float win_w = static_cast<float>(std::lround(window_w_ * factor)),
                  win_h = static_cast<float>(std::lround(window_h_ * factor));
      const int w = static_cast<int>(std::lround(image.width / factor)), h = static_cast<int>(std::lround(image.height / factor));
      if (w - window_w_ <= 0 || h - window_h_ <= 0) break;
      if (options.max_face > 0 && (win_w > options.max_face || win_h > options.max_face)) break;
      if (win_w < options.min_face || win_h < options.min_face) continue;
      const Level level = make_level(gray, image.width, image.height, w, h);
      const int step = factor > 2.0 ? 1 : 2;
      const int rows = (h - window_h_ + step - 1) / step;
      pool->parallel_for(0, static_cast<std::size_t>(rows), [&](std::size_t lo, std::size_t hi) {
        std::vector<Box> mine;
        for (std::size_t r = lo; r < hi; ++r) {
          const int y = static_cast<int>(r) * step;
          for (int x = 0; x < w - window_w_; x += step) {
            const int result = evaluate(level, x, y);
            if (result > 0)
              mine.push_back(Box{static_cast<float>(std::lround(x * factor)), static_cast<float>(std::lround(y * factor)),
                                 win_w, win_h});
            else if (result == 0)
              x += step;  // rejected by the first stage: its neighbour likely is too
          }
        }
        std::lock_guard<std::mutex> lock(hits_mutex);
        hits.insert(hits.end(), mine.begin(), mine.end());
      }, 4);
    }
    std::vector<FaceBox> faces = group(hits, options.min_neighbors, 0.2);
    std::sort(faces.begin(), faces.end(), [](const FaceBox& a, const FaceBox& b) {
      return a.box.width * a.box.height > b.box.width * b.box.height;
    });
    return faces;
  }

  // OpenCV's groupRectangles: cluster similar boxes (corners within eps of the smaller size), average
  // each cluster, drop clusters of min_neighbors or fewer, then drop boxes inside a stronger one.
  static std::vector<FaceBox> group(const std::vector<Box>& boxes, int min_neighbors, double eps) {
    const std::size_t n = boxes.size();
    std::vector<std::size_t> parent(n);
    for (std::size_t i = 0; i < n; ++i) parent[i] = i;
    auto root = [&](std::size_t i) {
      while (parent[i] != i) i = parent[i] = parent[parent[i]];
      return i;
    };
    auto similar = [eps](const Box& a, const Box& b) {
      const double delta = eps * (std::min(a.width, b.width) + std::min(a.height, b.height)) * 0.5;
      return std::abs(a.x - b.x) <= delta && std::abs(a.y - b.y) <= delta &&
             std::abs(a.x + a.width - b.x - b.width) <= delta && std::abs(a.y + a.height - b.y - b.height) <= delta;
    };
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j)
        if (similar(boxes[i], boxes[j])) parent[root(i)] = root(j);
    std::vector<std::size_t> label(n, n), roots;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t r = root(i);
      if (label[r] == n) {
        label[r] = roots.size();
        roots.push_back(r);
      }
    }
    std::vector<FaceBox> clusters(roots.size());
    std::vector<std::array<double, 4>> sums(roots.size(), {0, 0, 0, 0});
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t c = label[root(i)];
      sums[c][0] += boxes[i].x, sums[c][1] += boxes[i].y, sums[c][2] += boxes[i].width, sums[c][3] += boxes[i].height;
      ++clusters[c].neighbors;
    }
    for (std::size_t c = 0; c < clusters.size(); ++c) {
      const double s = 1.0 / clusters[c].neighbors;
      clusters[c].box = Box{static_cast<float>(std::lround(sums[c][0] * s)), static_cast<float>(std::lround(sums[c][1] * s)),
                            static_cast<float>(std::lround(sums[c][2] * s)), static_cast<float>(std::lround(sums[c][3] * s))};
    }
    std::vector<FaceBox> out;
    for (std::size_t i = 0; i < clusters.size(); ++i) {
      const FaceBox& r1 = clusters[i];
      if (r1.neighbors <= min_neighbors) continue;
      bool inside = false;
      for (std::size_t j = 0; j < clusters.size() && !inside; ++j) {
        const FaceBox& r2 = clusters[j];
        if (i == j || r2.neighbors <= min_neighbors) continue;
        const float dx = std::round(r2.box.width * static_cast<float>(eps)), dy = std::round(r2.box.height * static_cast<float>(eps));
        inside = r1.box.x >= r2.box.x - dx && r1.box.y >= r2.box.y - dy &&
                 r1.box.x + r1.box.width <= r2.box.x + r2.box.width + dx &&
                 r1.box.y + r1.box.height <= r2.box.y + r2.box.height + dy &&
                 (r2.neighbors > std::max(3, r1.neighbors) || r1.neighbors < 3);
      }
      if (!inside) out.push_back(r1);
    }
    return out;
  }

 private:
  static CascadeClassifier from_xml(const xml::Node& root, const std::string& source) {
    CascadeClassifier c;
    c.source_ = source;
    const xml::Node* cascade = root.find("cascade");
    if (!cascade) {
      for (const auto& child : root.children)
        if (child->find("stages") && !child->find("stageType"))
          detail::fail(source, ": old-style cascade <", child->name, "> is not supported (use the files in opencv4/)");
      detail::fail(source, ": no <cascade> element: not an OpenCV cascade classifier");
    }
    c.parse(*cascade);
    return c;
  }

  // A tree's internal nodes point to leaves (<= 0) or to later nodes of the same tree (> its own index),
  // as OpenCV writes them: so every walk from the root ends at a leaf.
  struct Node {
    int left = 0, right = 0, feature = 0;
    float threshold = 0.0f;                   // Haar
    std::array<std::uint32_t, 8> subset{};    // LBP: the 256 codes that go left
  };
  struct Tree {
    int first_node = 0, first_leaf = 0;
  };
  struct Stage {
    float threshold = 0.0f;
    int first_tree = 0, tree_count = 0;
  };
  struct Rect {
    int x = 0, y = 0, w = 0, h = 0;
    float weight = 0.0f;
  };
  struct Feature {
    std::array<Rect, 3> rects{};  // LBP: rects[0] is the block size and origin
    int count = 0;
  };

  // One pyramid level: the resized grey image's integral images, row stride w + 1.
  struct Level {
    int w = 0, h = 0;
    std::vector<std::int32_t> sum;
    std::vector<double> squares;  // Haar only
    // Per feature, offsets into `sum` from a window's top-left: LBP the 4x4 grid of block corners,
    // Haar 4 corners per rect.
    std::vector<std::array<std::int32_t, 16>> offsets;
  };

  // Whitespace-separated fields of an element's text.
  static std::vector<std::string_view> fields(const std::string& text) {
    std::vector<std::string_view> out;
    const std::string_view all(text);
    for (std::size_t at = 0;;) {
      at = all.find_first_not_of(" \n\r\t", at);
      if (at == std::string_view::npos) return out;
      const std::size_t end = std::min(all.find_first_of(" \n\r\t", at), all.size());
      out.push_back(all.substr(at, end - at));
      at = end;
    }
  }

  // 32-bit integers as written (LBP subsets are bit patterns, written signed or unsigned).
  static std::vector<int> ints(const xml::Node& node, const std::string& source, const char* what) {
    std::vector<int> out;
    for (std::string_view f : fields(node.text)) {
      const auto v = detail::parse_integer(f, std::numeric_limits<std::int32_t>::min(),
                                           std::numeric_limits<std::uint32_t>::max());
      if (!v) detail::fail(source, ": <", what, "> holds '", f, "', not a 32-bit integer");
      out.push_back(static_cast<int>(static_cast<std::int32_t>(static_cast<std::uint32_t>(*v))));
    }
    return out;
  }

  // Finite numbers within float's range (every one ends up a float or a small integer).
  static std::vector<double> numbers(const xml::Node& node, const std::string& source, const char* what) {
    std::vector<double> out;
    for (std::string_view f : fields(node.text)) {
      const auto v = detail::parse_real<float>(f);
      if (!v) detail::fail(source, ": <", what, "> holds '", f, "', not a finite number");
      out.push_back(*detail::parse_real<double>(f));
    }
    return out;
  }

  // A number that must be a whole number in [lo, hi] (node links, feature indices, rect corners).
  int whole(double v, int lo, int hi, const char* what) const {
    if (!(v >= lo && v <= hi && v == std::floor(v)))
      detail::fail(source_, ": ", what, " ", v, " is not a whole number from ", lo, " to ", hi);
    return static_cast<int>(v);
  }

  const xml::Node& child(const xml::Node& node, const char* name) const {
    const xml::Node* c = node.find(name);
    if (!c) detail::fail(source_, ": <", node.name, "> has no <", name, "> (truncated or not a cascade file)");
    return *c;
  }

  int integer(const xml::Node& node, const char* name) const {
    const std::vector<int> v = ints(child(node, name), source_, name);
    if (v.size() != 1) detail::fail(source_, ": <", name, "> is not one integer");
    return v[0];
  }

  void parse(const xml::Node& cascade) {
    const std::string stage_type = trim(child(cascade, "stageType").text);
    detail::require(stage_type == "BOOST", source_, ": stage type '", stage_type, "' is not supported (only BOOST)");
    const std::string feature_type = trim(child(cascade, "featureType").text);
    if (feature_type == "LBP")
      type_ = FeatureType::lbp;
    else if (feature_type == "HAAR")
      type_ = FeatureType::haar;
    else
      detail::fail(source_, ": feature type '", feature_type, "' is not supported (LBP or HAAR)");
    window_w_ = integer(cascade, "width");
    window_h_ = integer(cascade, "height");
    detail::require(window_w_ > 2 && window_h_ > 2 && window_w_ < 1000 && window_h_ < 1000, source_,
                    ": window size ", window_w_, "x", window_h_, " is not plausible");

    const xml::Node& stages = child(cascade, "stages");
    for (const auto& stage_node : stages.children) {
      Stage stage;
      const std::vector<double> threshold = numbers(child(*stage_node, "stageThreshold"), source_, "stageThreshold");
      detail::require(threshold.size() == 1, source_, ": <stageThreshold> holds ", threshold.size(), " numbers, not 1");
      stage.threshold = static_cast<float>(threshold[0]);
      stage.first_tree = static_cast<int>(trees_.size());
      for (const auto& weak : child(*stage_node, "weakClassifiers").children) {
        const std::vector<int> internal_ints = type_ == FeatureType::lbp ? ints(child(*weak, "internalNodes"), source_, "internalNodes")
                                                                          : std::vector<int>{};
        const std::vector<double> internal = numbers(child(*weak, "internalNodes"), source_, "internalNodes");
        const std::vector<double> leaves = numbers(child(*weak, "leafValues"), source_, "leafValues");
        const std::size_t per_node = type_ == FeatureType::lbp ? 3 + 8 : 4;
        detail::require(!internal.empty() && internal.size() % per_node == 0, source_, ": a weak classifier has ",
                        internal.size(), " internal-node numbers, not a multiple of ", per_node);
        const std::size_t node_count = internal.size() / per_node;
        detail::require(leaves.size() == node_count + 1, source_, ": a tree of ", node_count, " nodes has ",
                        leaves.size(), " leaves");
        Tree tree;
        tree.first_node = static_cast<int>(nodes_.size());
        tree.first_leaf = static_cast<int>(leaves_.size());
        for (std::size_t k = 0; k < node_count; ++k) {
          Node node;
          const int last_node = static_cast<int>(node_count) - 1, last_leaf = static_cast<int>(leaves.size()) - 1;
          node.left = whole(internal[k * per_node], -last_leaf, last_node, "a tree node's left link");
          node.right = whole(internal[k * per_node + 1], -last_leaf, last_node, "a tree node's right link");
          node.feature = whole(internal[k * per_node + 2], 0, std::numeric_limits<int>::max(), "a feature index");
          if (type_ == FeatureType::lbp)
            for (int b = 0; b < 8; ++b)
              node.subset[static_cast<std::size_t>(b)] = static_cast<std::uint32_t>(internal_ints[k * per_node + 3 + static_cast<std::size_t>(b)]);
          else
            node.threshold = static_cast<float>(internal[k * per_node + 3]);
          for (int next : {node.left, node.right})
            detail::require(next <= 0 || next > static_cast<int>(k), source_,
                            ": a tree node links back to itself or to an earlier node (a cycle)");
          nodes_.push_back(node);
        }
        for (double v : leaves) leaves_.push_back(static_cast<float>(v));
        trees_.push_back(tree);
      }
      stage.tree_count = static_cast<int>(trees_.size()) - stage.first_tree;
      detail::require(stage.tree_count > 0, source_, ": stage ", stages_.size(), " has no weak classifiers");
      stages_.push_back(stage);
    }
    detail::require(!stages_.empty(), source_, ": the cascade has no stages");

    for (const auto& f : child(cascade, "features").children) {
      Feature feature;
      if (type_ == FeatureType::lbp) {
        const std::vector<int> r = ints(child(*f, "rect"), source_, "rect");
        detail::require(r.size() == 4, source_, ": an LBP feature rect has ", r.size(), " numbers, not 4");
        detail::require(r[0] >= 0 && r[1] >= 0 && r[2] > 0 && r[3] > 0 && r[0] < window_w_ && r[1] < window_h_ &&
                            r[2] <= window_w_ && r[3] <= window_h_ && r[0] + 3 * r[2] <= window_w_ &&
                            r[1] + 3 * r[3] <= window_h_,
                        source_, ": an LBP feature lies outside the ", window_w_, "x", window_h_, " window");
        feature.rects[0] = Rect{r[0], r[1], r[2], r[3], 0.0f};
        feature.count = 1;
      } else {
        if (const xml::Node* tilted = f->find("tilted"))
          detail::require(trim(tilted->text) == "0", source_, ": tilted Haar features are not supported");
        for (const auto& rect : child(*f, "rects").children) {
          const std::vector<double> r = numbers(*rect, source_, "rects");
          detail::require(r.size() == 5, source_, ": a Haar rect has ", r.size(), " numbers, not 5");
          detail::require(feature.count < 3, source_, ": a Haar feature has more than 3 rects");
          Rect q{whole(r[0], 0, window_w_, "a Haar rect's x"), whole(r[1], 0, window_h_, "a Haar rect's y"),
                 whole(r[2], 1, window_w_, "a Haar rect's width"), whole(r[3], 1, window_h_, "a Haar rect's height"),
                 static_cast<float>(r[4])};
          detail::require(q.x + q.w <= window_w_ && q.y + q.h <= window_h_, source_, ": a Haar rect lies outside the window");
          feature.rects[static_cast<std::size_t>(feature.count++)] = q;
        }
        detail::require(feature.count > 0, source_, ": a Haar feature has no rects");
      }
      features_.push_back(feature);
    }
    for (const Node& node : nodes_)
      detail::require(node.feature >= 0 && node.feature < static_cast<int>(features_.size()), source_,
                      ": a node uses feature ", node.feature, " of ", features_.size());
  }

  static std::string trim(const std::string& s) {
    const std::size_t a = s.find_first_not_of(" \n\r\t"), b = s.find_last_not_of(" \n\r\t");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
  }

  static std::vector<std::uint8_t> to_gray(const ImageView& image) {
    std::vector<std::uint8_t> gray(static_cast<std::size_t>(image.width) * image.height);
    for (int y = 0; y < image.height; ++y)
      for (int x = 0; x < image.width; ++x) {
        float rgb[3] = {0.0f, 0.0f, 0.0f};
        image.rgb(x, y, rgb);
        gray[static_cast<std::size_t>(y) * image.width + x] =
            static_cast<std::uint8_t>(std::lround(0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2]));
      }
    return gray;
  }

  // The grey image resized to w x h (bilinear, pixel centres aligned) and its integral images.
  Level make_level(const std::vector<std::uint8_t>& gray, int src_w, int src_h, int w, int h) const {
    Level level;
    level.w = w;
    level.h = h;
    const std::size_t stride = static_cast<std::size_t>(w) + 1;
    level.sum.assign(stride * (static_cast<std::size_t>(h) + 1), 0);
    if (type_ == FeatureType::haar) level.squares.assign(level.sum.size(), 0.0);
    const double fx = static_cast<double>(src_w) / w, fy = static_cast<double>(src_h) / h;
    std::vector<int> x0(static_cast<std::size_t>(w));
    std::vector<float> ax(static_cast<std::size_t>(w));
    for (int x = 0; x < w; ++x) {
      const double sx = std::min(std::max((x + 0.5) * fx - 0.5, 0.0), static_cast<double>(src_w - 1));
      x0[static_cast<std::size_t>(x)] = std::min(static_cast<int>(sx), src_w - 2 < 0 ? 0 : src_w - 2);
      ax[static_cast<std::size_t>(x)] = static_cast<float>(sx - x0[static_cast<std::size_t>(x)]);
    }
    for (int y = 0; y < h; ++y) {
      const double sy = std::min(std::max((y + 0.5) * fy - 0.5, 0.0), static_cast<double>(src_h - 1));
      const int y0 = std::min(static_cast<int>(sy), src_h - 2 < 0 ? 0 : src_h - 2), y1 = std::min(y0 + 1, src_h - 1);
      const float ay = static_cast<float>(sy - y0);
      const std::uint8_t* r0 = gray.data() + static_cast<std::size_t>(y0) * src_w;
      const std::uint8_t* r1 = gray.data() + static_cast<std::size_t>(y1) * src_w;
      std::int32_t row_sum = 0;
      double row_squares = 0.0;
      for (int x = 0; x < w; ++x) {
        const int a = x0[static_cast<std::size_t>(x)], b = std::min(a + 1, src_w - 1);
        const float t = ax[static_cast<std::size_t>(x)];
        const float top = r0[a] + (r0[b] - r0[a]) * t, bottom = r1[a] + (r1[b] - r1[a]) * t;
        const int v = static_cast<int>(std::lround(top + (bottom - top) * ay));
        row_sum += v;
        const std::size_t at = (static_cast<std::size_t>(y) + 1) * stride + static_cast<std::size_t>(x) + 1;
        level.sum[at] = level.sum[at - stride] + row_sum;
        if (type_ == FeatureType::haar) {
          row_squares += static_cast<double>(v) * v;
          level.squares[at] = level.squares[at - stride] + row_squares;
        }
      }
    }
    const auto offset = [stride](int x, int y) { return static_cast<std::int32_t>(static_cast<std::size_t>(y) * stride + static_cast<std::size_t>(x)); };
    for (const Feature& f : features_) {
      std::array<std::int32_t, 16> o{};
      if (type_ == FeatureType::lbp) {
        const Rect& r = f.rects[0];
        for (int i = 0; i < 16; ++i) o[static_cast<std::size_t>(i)] = offset(r.x + (i % 4) * r.w, r.y + (i / 4) * r.h);
      } else {
        for (int k = 0; k < f.count; ++k) {
          const Rect& r = f.rects[static_cast<std::size_t>(k)];
          const std::size_t at = static_cast<std::size_t>(4 * k);
          o[at] = offset(r.x, r.y), o[at + 1] = offset(r.x + r.w, r.y);
          o[at + 2] = offset(r.x, r.y + r.h), o[at + 3] = offset(r.x + r.w, r.y + r.h);
        }
      }
      level.offsets.push_back(o);
    }
    return level;
  }

  static std::int32_t rect_sum(const Level& l, int x, int y, int w, int h) {
    const std::size_t stride = static_cast<std::size_t>(l.w) + 1;
    const std::int32_t* s = l.sum.data();
    const std::size_t a = static_cast<std::size_t>(y) * stride + static_cast<std::size_t>(x);
    const std::size_t b = a + static_cast<std::size_t>(w), c = a + static_cast<std::size_t>(h) * stride, d = c + static_cast<std::size_t>(w);
    return s[a] - s[b] - s[c] + s[d];
  }

  // The LBP code of a feature for the window whose top-left integral-image entry is `p`.
  static int lbp_code(const std::int32_t* p, const std::array<std::int32_t, 16>& o) {
    std::int32_t block[9];
    for (int i = 0; i < 9; ++i) {
      const std::size_t a = static_cast<std::size_t>(i / 3 * 4 + i % 3);  // block i's top-left grid corner
      block[i] = p[o[a]] - p[o[a + 1]] - p[o[a + 4]] + p[o[a + 5]];
    }
    const std::int32_t c = block[4];
    // Clockwise from the top-left block, the most significant bit first (OpenCV's order).
    return (block[0] >= c ? 128 : 0) | (block[1] >= c ? 64 : 0) | (block[2] >= c ? 32 : 0) | (block[5] >= c ? 16 : 0) |
           (block[8] >= c ? 8 : 0) | (block[7] >= c ? 4 : 0) | (block[6] >= c ? 2 : 0) | (block[3] >= c ? 1 : 0);
  }

  // 1 if the window at (x, y) passes every stage; otherwise minus the stage that rejected it (0 for the
  // first). Haar windows too flat to normalise are rejected outright (-1).
  int evaluate(const Level& l, int x, int y) const {
    float inv_norm = 1.0f;
    if (type_ == FeatureType::haar) {
      // The normalisation window is the classifier window less a 1-pixel border.
      const int nx = x + 1, ny = y + 1, nw = window_w_ - 2, nh = window_h_ - 2;
      const std::size_t stride = static_cast<std::size_t>(l.w) + 1;
      const std::size_t a = static_cast<std::size_t>(ny) * stride + static_cast<std::size_t>(nx);
      const std::size_t b = a + static_cast<std::size_t>(nw), c = a + static_cast<std::size_t>(nh) * stride, d = c + static_cast<std::size_t>(nw);
      const double sum = rect_sum(l, nx, ny, nw, nh);
      const double squares = l.squares[a] - l.squares[b] - l.squares[c] + l.squares[d];
      const double area = static_cast<double>(nw) * nh;
      double nf = area * squares - sum * sum;
      if (nf <= 0.0) return -1;
      nf = std::sqrt(nf);
      inv_norm = static_cast<float>(1.0 / nf);
      if (area * inv_norm >= 0.1) return -1;
    }
    const std::int32_t* p = l.sum.data() + static_cast<std::size_t>(y) * (static_cast<std::size_t>(l.w) + 1) + static_cast<std::size_t>(x);
    for (std::size_t s = 0; s < stages_.size(); ++s) {
      const Stage& stage = stages_[s];
      float sum = 0.0f;
      for (int t = stage.first_tree; t < stage.first_tree + stage.tree_count; ++t) {
        const Tree& tree = trees_[static_cast<std::size_t>(t)];
        int idx = 0;
        do {
          const Node& node = nodes_[static_cast<std::size_t>(tree.first_node + idx)];
          const std::array<std::int32_t, 16>& o = l.offsets[static_cast<std::size_t>(node.feature)];
          bool left;
          if (type_ == FeatureType::lbp) {
            const int code = lbp_code(p, o);
            left = (node.subset[static_cast<std::size_t>(code >> 5)] >> (code & 31)) & 1u;
          } else {
            const Feature& f = features_[static_cast<std::size_t>(node.feature)];
            float value = 0.0f;
            for (int k = 0; k < f.count; ++k) {
              const std::size_t a = static_cast<std::size_t>(4 * k);
              value += f.rects[static_cast<std::size_t>(k)].weight *
                       static_cast<float>(p[o[a]] - p[o[a + 1]] - p[o[a + 2]] + p[o[a + 3]]);
            }
            left = value * inv_norm < node.threshold;
          }
          idx = left ? node.left : node.right;
        } while (idx > 0);
        sum += leaves_[static_cast<std::size_t>(tree.first_leaf - idx)];
      }
      if (sum < stage.threshold) return -static_cast<int>(s);
    }
    return 1;
  }

  std::string source_;
  FeatureType type_ = FeatureType::lbp;
  int window_w_ = 0, window_h_ = 0;
  std::vector<Stage> stages_;
  std::vector<Tree> trees_;
  std::vector<Node> nodes_;
  std::vector<float> leaves_;
  std::vector<Feature> features_;
};

}  // namespace facedet
}  // namespace pfld
