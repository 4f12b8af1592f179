// pfld_face_calibration: how well a face detector finds the annotated faces of a folder, and its map
// from detections to the landmarks' region fitted on them.
//
//   pfld_face_calibration --data DIR [--detector FILE] [--min-face N] [--threads N]
//
// FILE is a YuNet ONNX file (default: the shipped one) or an OpenCV cascade .xml. A face is found when a
// detection's region (with the detector's current map) matches it (eval::match_face); every other
// detection is counted (a face nobody annotated, or a false positive). For the found faces the tool fits the map (YuNet:
// KeypointMapping, least squares over the faces and their mirror images; a cascade: BoxMapping, the
// medians) and prints it as C++, with how close the current and the fitted maps come to the annotated
// regions. The last stdout line is one JSON object.
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "tools.hpp"

namespace pfld_face_calibration {

namespace {

const char* kUsage = "usage: pfld_face_calibration --data DIR [--detector FILE] [--min-face N] [--threads N]\n";

float median(std::vector<float> v) {
  if (v.empty()) return 0.0f;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Median centre distance and size error of mapped regions, as fractions of the annotated region's side.
struct RegionError {
  float centre = 0.0f;
  float size = 0.0f;
};

template <class Map>
RegionError region_error(const std::vector<pfld::FaceDetection>& found, const std::vector<pfld::Landmarks>& truths, Map map) {
  std::vector<float> centre, size;
  for (std::size_t i = 0; i < found.size(); ++i) {
    const pfld::FaceRegion mapped = map(found[i]);
    const pfld::FaceRegion truth = pfld::landmark_region(truths[i], mapped.angle);
    centre.push_back(std::hypot(mapped.centre.x - truth.centre.x, mapped.centre.y - truth.centre.y) / truth.side);
    size.push_back(std::abs(mapped.side / truth.side - 1.0f));
  }
  return {median(centre), median(size)};
}

int calibrate(int argc, char** argv) {
  std::string data, detector_path;
  float min_face = 0.0f;
  int threads = 0;
  cli::ArgReader args(argc, argv);
  while (args.next()) {
    const std::string& arg = args.arg();
    if (arg == "--data") data = args.value();
    else if (arg == "--detector") detector_path = args.value();
    else if (arg == "--min-face") min_face = args.number(1.0f, 1e5f);
    else if (arg == "--threads") threads = args.integer(0, 1024);
    else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else throw cli::UsageError("unknown option '" + arg + "'");
  }
  if (data.empty()) throw cli::UsageError("--data is required");
  pfld::set_num_threads(threads);
  if (detector_path.empty()) detector_path = pfld::default_face_detector_path();
  const std::unique_ptr<pfld::FaceDetector> detector = pfld::load_face_detector(detector_path, min_face);
  const std::vector<pfld::FaceRecord> records = pfld::list_pts_folder(data);
  std::size_t other_detections = 0;
  std::vector<float> milliseconds;
  std::vector<pfld::FaceDetection> found;
  std::vector<pfld::Landmarks> truths;
  for (const pfld::FaceRecord& record : records) {
    const pfld::Image image = pfld::io::read_image(record.image_path);
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<pfld::FaceDetection> faces = detector->detect(image.view());
    milliseconds.push_back(std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - t0).count());
    std::vector<pfld::FaceRegion> regions;
    for (const pfld::FaceDetection& f : faces) regions.push_back(detector->landmark_region(f));
    const int match = pfld::eval::match_face(regions, record.landmarks);
    other_detections += faces.size() - (match >= 0 ? 1 : 0);
    if (match < 0) continue;
    found.push_back(faces[static_cast<std::size_t>(match)]);
    truths.push_back(record.landmarks);
  }
  const double rate = records.empty() ? 0.0 : static_cast<double>(found.size()) / static_cast<double>(records.size());
  std::printf("detector %s\n", detector_path.c_str());
  std::printf("faces %zu, found %zu (%.1f %%), other detections %zu, median %.1f ms per image\n", records.size(),
              found.size(), 100.0 * rate, other_detections, static_cast<double>(median(milliseconds)));
  if (found.empty()) throw pfld::Error("the detector found none of the " + std::to_string(records.size()) + " faces");

  auto current = [&](const pfld::FaceDetection& f) { return detector->landmark_region(f); };
  const RegionError before = region_error(found, truths, current);
  RegionError after;
  if (found.front().has_keypoints) {
    const pfld::KeypointMapping fitted = pfld::KeypointMapping::fit(found, truths);
    after = region_error(found, truths, [&](const pfld::FaceDetection& f) { return fitted.apply(f); });
    std::printf("fitted KeypointMapping (centre x, centre y, side; constant, then keypoints 0-4 x, y):\n{{{\n");
    for (const auto& row : fitted.weights) {
      std::printf("    {");
      for (std::size_t k = 0; k < row.size(); ++k)  // (no "-0.00000f" for a weight the mirror images cancel)
        std::printf("%s%.5ff", k ? ", " : "", std::abs(row[k]) < 5e-6f ? 0.0 : static_cast<double>(row[k]));
      std::printf("},\n");
    }
    std::printf("}}}\n");
  } else {
    std::vector<pfld::Box> boxes;
    for (const pfld::FaceDetection& f : found) boxes.push_back(f.box);
    const pfld::BoxMapping fitted = pfld::BoxMapping::fit(boxes, truths);
    after = region_error(found, truths, [&](const pfld::FaceDetection& f) { return fitted.apply(f.box); });
    std::printf("fitted BoxMapping{%.4ff, %.4ff, %.4ff} (shift_x, shift_y, scale)\n", static_cast<double>(fitted.shift_x),
                static_cast<double>(fitted.shift_y), static_cast<double>(fitted.scale));
  }
  std::printf("median centre error / size error (of the landmark region's side): current map %.4f / %.4f, "
              "fitted %.4f / %.4f\n",
              static_cast<double>(before.centre), static_cast<double>(before.size), static_cast<double>(after.centre),
              static_cast<double>(after.size));
  std::printf("{\"faces\": %zu, \"found\": %zu, \"hit_rate\": %.4f, \"other_detections\": %zu, \"median_ms\": %.2f, "
              "\"centre_error\": %.4f, \"size_error\": %.4f, \"fitted_centre_error\": %.4f, \"fitted_size_error\": %.4f}\n",
              records.size(), found.size(), rate, other_detections, static_cast<double>(median(milliseconds)),
              static_cast<double>(before.centre), static_cast<double>(before.size), static_cast<double>(after.centre),
              static_cast<double>(after.size));
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  return cli::run_tool("pfld_face_calibration", [&] { return calibrate(argc, argv); });
}

}  // namespace pfld_face_calibration
