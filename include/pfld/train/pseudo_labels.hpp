// Labels for unlabelled face photos from a teacher (teacher.hpp): the photo's main face found by the
// face detector, the teacher's mean landmarks through the Detector's crop and refine passes, and how far
// its members disagree, a confidence to keep or drop the face by. Written as .pts beside a list
// (write_pseudo_labels), they load as training faces like any others (list_labelled_faces).
#pragma once

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "../data/dataset.hpp"
#include "../data/pts_file.hpp"
#include "../eval/metrics.hpp"
#include "../infer/detector.hpp"
#include "teacher.hpp"

namespace pfld::train {

struct PseudoLabel {
  bool found = false;  // whether the face detector found a face
  FaceRegion region;   // the face it found (the one nearest the photo's centre)
  Landmarks points;    // the teacher's mean prediction, image pixels
  // The members' disagreement: the mean over members of each one's NME (inter-ocular) against the mean
  // prediction. Infinite when no face was found.
  float spread = std::numeric_limits<float>::infinity();
};

// Labels the main face of photos. Thread safety: like a Detector, one labeller serves one thread at a
// time; copies share the models, so give each thread its own copy.
class PseudoLabeller {
 public:
  // Requires a teacher of at least one member, 68 or 98 points (the spread's inter-ocular distance).
  // options.refine: passes after the first that crop again around the landmarks found (see
  // DetectorOptions); the detector's default face detector finds the faces.
  PseudoLabeller(const Teacher& teacher, const DetectorOptions& options) : mean_(checked(teacher).mean, options) {
    for (const auto& m : teacher.members) members_.emplace_back(m, options);
  }

  // The landmark regions of the faces the face detector finds in `image`, best first.
  std::vector<FaceRegion> regions(const ImageView& image) {
    FaceDetector& faces = mean_.face_detector();
    std::vector<FaceRegion> out;
    for (const FaceDetection& f : faces.detect(image)) out.push_back(faces.landmark_region(f));
    return out;
  }

  // The face nearest the centre of `image` (the main face of a portrait set such as LFW), or found ==
  // false when the face detector finds none.
  PseudoLabel label(const ImageView& image) {
    const std::vector<FaceRegion> faces = regions(image);
    if (faces.empty()) return {};
    const Point centre{0.5f * static_cast<float>(image.width), 0.5f * static_cast<float>(image.height)};
    auto distance = [&](const FaceRegion& r) { return std::hypot(r.centre.x - centre.x, r.centre.y - centre.y); };
    const FaceRegion* best = &faces[0];
    for (const FaceRegion& r : faces)
      if (distance(r) < distance(*best)) best = &r;
    return label(image, *best);
  }

  // The face in `region`.
  PseudoLabel label(const ImageView& image, const FaceRegion& region) {
    PseudoLabel out;
    out.found = true;
    out.region = region;
    out.points = mean_.detect(image, region);
    double sum = 0.0;
    for (Detector& member : members_) sum += eval::nme(member.detect(image, region), out.points);
    out.spread = static_cast<float>(sum / static_cast<double>(members_.size()));
    return out;
  }

 private:
  static const Teacher& checked(const Teacher& teacher) {
    detail::require(!teacher.members.empty() && teacher.mean, "PseudoLabeller: an empty teacher");
    return teacher;
  }

  Detector mean_;
  std::vector<Detector> members_;
};

// The faces of a list written by write_pseudo_labels (or by hand): one face per line, the image's path
// and its .pts file's, separated by a tab; relative paths are relative to the list's folder. Lines
// starting with '#' are comments.
inline std::vector<FaceRecord> list_labelled_faces(const std::string& list_path, const DatasetOptions& options = {}) {
  namespace fs = std::filesystem;
  std::ifstream in(list_path);
  detail::require(in.good(), list_path, ": cannot open the list");
  const fs::path root = fs::path(list_path).parent_path();
  auto resolve = [&](const std::string& p) { return fs::path(p).is_absolute() ? p : (root / p).string(); };
  std::vector<FaceRecord> records;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    const std::string where = list_path + ":" + std::to_string(number);
    try {
      const std::size_t tab = line.find('\t');
      detail::require(tab != std::string::npos, where, ": expected IMAGE<tab>PTS");
      const std::size_t end = line.find('\t', tab + 1);
      FaceRecord r;
      r.image_path = resolve(line.substr(0, tab));
      const std::string pts = resolve(line.substr(tab + 1, end == std::string::npos ? std::string::npos : end - tab - 1));
      r.source = pts;
      r.landmarks = read_pts(pts, options.pts);
      records.push_back(std::move(r));
    } catch (const Error& e) {
      detail_dataset::reject(options, e.what());
    }
  }
  detail::require(!records.empty(), list_path, ": no faces");
  return records;
}

// Writes each kept label as OUT/NAME.pts (NAME: the image's path relative to `image_root`, extension
// replaced; folders made as needed) and the list OUT/labels.txt (per line: the image's absolute path,
// the .pts path relative to OUT, the spread). labels[i] belongs to images[i], each under image_root; a
// label is kept when found and its spread is at most max_spread. Returns how many were kept.
inline std::size_t write_pseudo_labels(const std::vector<std::string>& images, const std::vector<PseudoLabel>& labels,
                                       const std::string& image_root, const std::string& out, float max_spread) {
  namespace fs = std::filesystem;
  detail::require(images.size() == labels.size(), "write_pseudo_labels: ", images.size(), " images, ", labels.size(),
                  " labels");
  fs::create_directories(out);
  const std::string list_path = (fs::path(out) / "labels.txt").string();
  std::ofstream list(list_path);
  detail::require(list.good(), list_path, ": cannot write");
  list << "# image\tpts\tspread (teacher members' mean NME against their mean)\n";
  std::size_t kept = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const PseudoLabel& l = labels[i];
    if (!l.found || !(l.spread <= max_spread)) continue;
    fs::path name = fs::relative(fs::absolute(images[i]), fs::absolute(image_root));
    detail::require(!name.empty() && *name.begin() != "..", images[i], ": not under ", image_root);
    const fs::path pts = fs::path(out) / name.replace_extension(".pts");
    fs::create_directories(pts.parent_path());
    write_pts(pts.string(), l.points);
    list << fs::absolute(images[i]).string() << '\t' << fs::relative(pts, out).string() << '\t' << l.spread << '\n';
    ++kept;
  }
  detail::require(list.good(), list_path, ": write failed");
  return kept;
}

}  // namespace pfld::train
