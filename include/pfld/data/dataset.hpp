// Annotated face datasets: a folder of image + .pts pairs (300-W style) or a WFLW list, loaded into
// decoded faces with their head pose and attribute classes.
#pragma once

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "../core/thread_pool.hpp"
#include "attributes.hpp"
#include "crop.hpp"
#include "head_pose.hpp"
#include "image.hpp"
#include "pts_file.hpp"
#include "wflw_list.hpp"

namespace pfld {
inline namespace data {

// One annotated face before its image is decoded.
struct FaceRecord {
  std::string image_path;
  Landmarks landmarks;
  bool has_box = false;
  Box box;                    // the annotation's face box, when it has one (WFLW)
  std::vector<float> flags;   // annotated attribute flags (WFLW); empty when derived (300-W)
  std::string source;         // where the annotation came from, for messages
};

struct DatasetOptions {
  PtsOptions pts;                          // .pts conventions and the expected point count
  bool skip_invalid = false;               // warn and skip bad faces instead of failing
  std::ostream* warnings = &std::cerr;     // where skipped faces are reported
};

namespace detail_dataset {

inline void reject(const DatasetOptions& options, const std::string& message) {
  if (!options.skip_invalid) throw Error(message);
  if (options.warnings) *options.warnings << "pfld: skipping: " << message << "\n";
}

}  // namespace detail_dataset

// The image files pfld reads (io/image_file.hpp), by extension.
constexpr const char* kImageExtensions[] = {".jpg", ".jpeg", ".png", ".bmp"};

// Whether `path` names an image file by its extension, in any case.
inline bool has_image_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(std::begin(kImageExtensions), std::end(kImageExtensions), ext) != std::end(kImageExtensions);
}

// Every photo under `dir` (searched recursively, by extension), in path order; an Error when `dir` is
// not a directory or holds none.
inline std::vector<std::string> list_photos(const std::string& dir) {
  namespace fs = std::filesystem;
  detail::require(fs::is_directory(dir), dir, ": not a directory");
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && has_image_extension(entry.path())) out.push_back(entry.path().string());
  std::sort(out.begin(), out.end());
  detail::require(!out.empty(), dir, ": no .jpg, .jpeg, .png or .bmp photos");
  return out;
}

// Every NAME.pts of `dir` with its NAME.jpg / .jpeg / .png / .bmp, in name order.
inline std::vector<FaceRecord> list_pts_folder(const std::string& dir, const DatasetOptions& options = {}) {
  namespace fs = std::filesystem;
  detail::require(fs::is_directory(dir), dir, ": not a directory");
  std::vector<fs::path> pts_files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".pts") pts_files.push_back(entry.path());
  std::sort(pts_files.begin(), pts_files.end());
  detail::require(!pts_files.empty(), dir, ": no .pts files");
  std::vector<FaceRecord> records;
  for (const auto& pts : pts_files) {
    try {
      FaceRecord r;
      r.source = pts.string();
      std::vector<std::string> candidates(std::begin(kImageExtensions), std::end(kImageExtensions));
      candidates.insert(candidates.end(), {".JPG", ".PNG"});
      for (const std::string& ext : candidates) {
        fs::path image = pts;
        image.replace_extension(ext);
        if (fs::exists(image)) {
          r.image_path = image.string();
          break;
        }
      }
      detail::require(!r.image_path.empty(), pts.string(), ": no image next to it (.jpg, .jpeg, .png or .bmp)");
      r.landmarks = read_pts(pts.string(), options.pts);
      records.push_back(std::move(r));
    } catch (const Error& e) {
      detail_dataset::reject(options, e.what());
    }
  }
  detail::require(!records.empty(), dir, ": no usable faces");
  return records;
}

// The faces of a WFLW list; image paths are relative to `image_root`.
inline std::vector<FaceRecord> list_wflw(const std::string& list_path, const std::string& image_root,
                                         const DatasetOptions& options = {}) {
  std::ifstream in(list_path);
  detail::require(bool(in), list_path, ": cannot open");
  std::vector<FaceRecord> records;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    try {
      const WflwRecord w = parse_wflw_line(line, list_path, line_no);
      FaceRecord r;
      r.source = detail::cat(list_path, ":", line_no);
      r.image_path = (std::filesystem::path(image_root) / w.image).string();
      r.landmarks = w.landmarks;
      r.has_box = true;
      r.box = w.box;
      r.flags.assign(w.attributes.begin(), w.attributes.end());
      records.push_back(std::move(r));
    } catch (const Error& e) {
      detail_dataset::reject(options, e.what());
    }
  }
  detail::require(!records.empty(), list_path, ": no usable faces");
  return records;
}

// A decoded face, ready for cropping.
struct Face {
  Image image;
  Landmarks landmarks;      // image pixels
  Box box;                  // the face box crops are taken around (annotation box, else the landmarks' box)
  HeadPose pose;            // of the standard (unaugmented) crop
  std::vector<float> classes;
  std::string source;
  // Times the face is drawn per training epoch (BatchLoader): more than once to weight a set of few
  // annotated faces against many teacher-labelled ones.
  int draws = 1;
};

struct FaceSet {
  std::vector<Face> faces;
  int landmark_count = 0;
  AttributeScheme scheme;
  ClassStatistics classes;  // fractions and loss weights over this set

  std::size_t size() const { return faces.size(); }
};

using ImageDecoder = std::function<Image(const std::string&)>;

// Per class, the faces of `set` in it, each counted as often as an epoch draws it (Face::draws); then,
// as the last element, the faces drawn (what class_statistics_from_counts takes).
inline std::vector<double> class_counts(const FaceSet& set) {
  const std::size_t classes = set.scheme.names.size();
  std::vector<double> counts(classes + 1, 0.0);
  for (const Face& f : set.faces) {
    detail::require(f.classes.size() == classes, "class statistics: a face has ", f.classes.size(),
                    " class flags, expected ", classes);
    const double draws = static_cast<double>(std::max(0, f.draws));
    for (std::size_t c = 0; c < classes; ++c) counts[c] += draws * static_cast<double>(f.classes[c]);
    counts[classes] += draws;
  }
  return counts;
}

// set.classes from its faces' classes, each face counted as often as an epoch draws it.
inline void update_class_statistics(FaceSet& set) {
  if (set.scheme.names.empty()) return;
  set.classes = class_statistics_from_counts(class_counts(set));
}

// Decodes every face (in parallel), checks it, and derives its pose and classes. Attribute classes are
// WFLW's flags when the records carry them, else derived for 68-point faces (attributes.hpp).
inline FaceSet load_faces(const std::vector<FaceRecord>& records, const ImageDecoder& decode,
                          const DatasetOptions& options = {}, ThreadPool* pool = nullptr, int crop_size = 112,
                          float box_scale = 1.2f) {
  detail::require(!records.empty(), "load_faces: no faces");
  const std::size_t n = records.size();
  std::vector<Face> faces(n);
  std::vector<std::string> errors(n);
  auto work = [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      const FaceRecord& r = records[i];
      Face& f = faces[i];
      try {
        f.source = r.source;
        f.landmarks = r.landmarks;
        require_finite(f.landmarks, r.source);
        f.image = decode(r.image_path);
        f.image.view().validate(r.image_path.c_str());
        f.box = r.has_box ? r.box : bounding_box(f.landmarks);
        f.box.validate(r.source.c_str());
        const float w = static_cast<float>(f.image.width), h = static_cast<float>(f.image.height);
        detail::require(f.box.x < w - 0.5f && f.box.y < h - 0.5f && f.box.x + f.box.width > -0.5f &&
                            f.box.y + f.box.height > -0.5f,
                        r.source, ": face box (", f.box.x, ", ", f.box.y, ", ", f.box.width, " x ", f.box.height,
                        ") lies outside the ", f.image.width, "x", f.image.height, " image");
        const CropTransform crop = CropTransform::from_box(bounding_box(f.landmarks), crop_size, box_scale);
        Landmarks in_crop;
        for (const Point& p : f.landmarks) in_crop.push_back(crop.image_to_crop(p));
        if (f.landmarks.size() == 68 || f.landmarks.size() == 98) f.pose = estimate_head_pose(in_crop, crop_size);
        if (!r.flags.empty())
          f.classes = r.flags;
        else if (f.landmarks.size() == 68)
          f.classes = classes_300w(f.landmarks, f.pose);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  };
  if (pool)
    pool->parallel_for(0, n, work);
  else
    work(0, n);

  FaceSet set;
  for (std::size_t i = 0; i < n; ++i) {
    if (!errors[i].empty()) {
      detail_dataset::reject(options, errors[i]);
      continue;
    }
    if (set.landmark_count == 0) set.landmark_count = static_cast<int>(faces[i].landmarks.size());
    if (static_cast<int>(faces[i].landmarks.size()) != set.landmark_count) {
      detail_dataset::reject(options, detail::cat(faces[i].source, ": ", faces[i].landmarks.size(),
                                                  " landmarks, the set has ", set.landmark_count));
      continue;
    }
    set.faces.push_back(std::move(faces[i]));
  }
  detail::require(!set.faces.empty(), "load_faces: no usable faces");
  const bool annotated = !records.front().flags.empty();
  set.scheme = annotated ? attributes_wflw() : set.landmark_count == 68 ? attributes_300w() : AttributeScheme{};
  for (auto& f : set.faces)
    if (f.classes.size() != set.scheme.names.size()) f.classes.assign(set.scheme.names.size(), 0.0f);
  update_class_statistics(set);
  return set;
}

// One set of `a`'s faces and then `b`'s, class statistics over both. Requires the same landmark count and
// attribute scheme.
inline FaceSet merge_face_sets(FaceSet a, FaceSet b) {
  detail::require(a.landmark_count == b.landmark_count && a.scheme.names == b.scheme.names, "merge_face_sets: ",
                  a.landmark_count, " and ", b.landmark_count, " landmarks, or different attribute schemes");
  for (Face& f : b.faces) a.faces.push_back(std::move(f));
  update_class_statistics(a);
  return a;
}

}  // namespace data
}  // namespace pfld
