// pfld_face_calibration: how well a cascade finds the annotated faces of a folder, and the mapping from
// its boxes to the landmark box (BoxMapping) measured on them.
//
//   pfld_face_calibration --data DIR [--cascade FILE] [--min-face N] [--threads N]
//                         [--mapping SHIFT_X,SHIFT_Y,SCALE]
//
// A face is found when a detection contains the centre of its landmark box and the two sizes are within
// a factor 1.5; every other detection counts as a false positive. Prints the hit rate, false positives,
// time per image, the median mapping over the found faces, and (with --mapping) how close the mapped
// boxes come to the landmark boxes. The last stdout line is one JSON object.
#include <pfld/facedet/face_detector.hpp>
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "tools.hpp"

namespace pfld_face_calibration {

namespace {

const char* kUsage =
    "usage: pfld_face_calibration --data DIR [--cascade FILE] [--min-face N] [--threads N]\n"
    "                             [--mapping SHIFT_X,SHIFT_Y,SCALE]\n";

float median(std::vector<float> v) {
  if (v.empty()) return 0.0f;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

int calibrate(int argc, char** argv) {
  std::string data, cascade_path = pfld::default_face_cascade();
  pfld::CascadeOptions options;
  pfld::BoxMapping mapping = pfld::default_box_mapping();
  int threads = 0;
  cli::ArgReader args(argc, argv);
  while (args.next()) {
    const std::string& arg = args.arg();
    if (arg == "--data") data = args.value();
    else if (arg == "--cascade") cascade_path = args.value();
    else if (arg == "--min-face") options.min_face = args.number(1.0f, 1e5f);
    else if (arg == "--threads") threads = args.integer(0, 1024);
    else if (arg == "--mapping") {
      char end = 0;
      if (std::sscanf(args.value().c_str(), "%f,%f,%f%c", &mapping.shift_x, &mapping.shift_y, &mapping.scale, &end) != 3)
        throw cli::UsageError("--mapping takes SHIFT_X,SHIFT_Y,SCALE (three numbers)");
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else throw cli::UsageError("unknown option '" + arg + "'");
  }
  if (data.empty()) throw cli::UsageError("--data is required");
  pfld::set_num_threads(threads);
  const pfld::FaceDetector detector = pfld::FaceDetector::load(cascade_path, options, mapping);
  const std::vector<pfld::FaceRecord> records = pfld::list_pts_folder(data);
  std::size_t hits = 0, false_positives = 0;
  std::vector<float> shift_x, shift_y, scale, milliseconds, centre_error, size_error;
  for (const pfld::FaceRecord& record : records) {
    const pfld::Image image = pfld::io::read_image(record.image_path);
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<pfld::FaceBox> faces = detector.detect(image.view());
    milliseconds.push_back(std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - t0).count());
    const pfld::Box truth = pfld::bounding_box(record.landmarks);
    const float truth_side = std::max(truth.width, truth.height);
    bool found = false;
    for (const pfld::FaceBox& f : faces) {
      const bool contains = truth.center_x() >= f.box.x && truth.center_x() <= f.box.x + f.box.width &&
                            truth.center_y() >= f.box.y && truth.center_y() <= f.box.y + f.box.height;
      const float ratio = f.box.width / truth_side;
      if (!found && contains && ratio <= 1.5f && ratio >= 1 / 1.5f) {
        found = true;
        shift_x.push_back((truth.center_x() - f.box.center_x()) / f.box.width);
        shift_y.push_back((truth.center_y() - f.box.center_y()) / f.box.height);
        scale.push_back(truth_side / f.box.width);
        const pfld::Box mapped = detector.landmark_box(f);
        centre_error.push_back(std::hypot(mapped.center_x() - truth.center_x(), mapped.center_y() - truth.center_y()) /
                               truth_side);
        size_error.push_back(std::abs(mapped.width / truth_side - 1.0f));
      } else {
        ++false_positives;
      }
    }
    hits += found;
  }
  const double rate = records.empty() ? 0.0 : static_cast<double>(hits) / static_cast<double>(records.size());
  std::printf("cascade %s\n", cascade_path.c_str());
  std::printf("faces %zu, found %zu (%.1f %%), false positives %zu, median %.1f ms per image\n", records.size(), hits,
              100.0 * rate, false_positives, static_cast<double>(median(milliseconds)));
  std::printf("median mapping (landmark box from detection): shift_x %.4f, shift_y %.4f, scale %.4f\n",
              static_cast<double>(median(shift_x)), static_cast<double>(median(shift_y)), static_cast<double>(median(scale)));
  std::printf("with mapping %.4f,%.4f,%.4f: median centre error %.3f, median size error %.3f (of the landmark box side)\n",
              static_cast<double>(mapping.shift_x), static_cast<double>(mapping.shift_y), static_cast<double>(mapping.scale),
              static_cast<double>(median(centre_error)), static_cast<double>(median(size_error)));
  std::printf("{\"faces\": %zu, \"found\": %zu, \"hit_rate\": %.4f, \"false_positives\": %zu, \"median_ms\": %.2f, "
              "\"shift_x\": %.4f, \"shift_y\": %.4f, \"scale\": %.4f}\n",
              records.size(), hits, rate, false_positives, static_cast<double>(median(milliseconds)),
              static_cast<double>(median(shift_x)), static_cast<double>(median(shift_y)), static_cast<double>(median(scale)));
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  return cli::run_tool("pfld_face_calibration", [&] { return calibrate(argc, argv); });
}

}  // namespace pfld_face_calibration
