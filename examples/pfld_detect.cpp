// pfld_detect: a photo in, faces and their landmarks out, as JSON on stdout and an annotated PNG.
//
//   pfld_detect --weights FILE IMAGE [--out annotated.png] [--box X,Y,W,H]... [--cascade FILE]
//               [--min-face PIXELS] [--pose] [--mirror-average] [--refine N] [--no-upright]
//
// Faces come from the cascade face detector (default: OpenCV's haarcascade_frontalface_alt2 from
// Debian's opencv-data), or from --box (image pixels, the face's landmark box; repeatable).
// --mirror-average averages each face's landmarks with its mirror image's (twice the time). --refine N
// (default 1) crops each face again around the landmarks found, the crop the network was trained on: a
// detector's box frames a face differently (300-W val, shipped 1X: 4.69 -> 4.29 % NME); that crop is
// turned so the face stands upright in it (a tilted head), unless --no-upright. The PNG
// shows each face box (the detector's in grey, the landmark crop's box in green) and the landmarks.
// JSON: {"image": .., "width": W, "height": H, "faces": [{"box": [x, y, w, h], "detection": [..] | null,
//        "landmarks": [[x, y], ...], "pose": {"yaw": .., "pitch": .., "roll": ..}}]}
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/draw.hpp"
#include "tools.hpp"

namespace pfld_detect {

namespace {

[[noreturn]] void usage(const char* error) {
  if (error) std::fprintf(stderr, "pfld_detect: %s\n", error);
  std::fprintf(stderr,
               "usage: pfld_detect --weights FILE IMAGE [--out annotated.png] [--box X,Y,W,H]... [--cascade FILE]\n"
               "                   [--min-face PIXELS] [--pose] [--mirror-average] [--refine N] [--no-upright]\n"
               "  --refine N        crop each face again N times around the landmarks found (default 1)\n"
               "  --no-upright      refine with unturned crops (default: turned by the face's roll)\n");
  std::exit(2);
}

}  // namespace

int run(int argc, char** argv) {
  std::string weights, image_path, out, cascade = pfld::default_face_cascade();
  std::vector<pfld::Box> boxes;
  pfld::CascadeOptions cascade_options;
  bool pose = false;
  pfld::DetectorOptions detector_options;
  detector_options.refine = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
      return argv[++i];
    };
    if (arg == "--weights") weights = value();
    else if (arg == "--out") out = value();
    else if (arg == "--cascade") cascade = value();
    else if (arg == "--min-face") cascade_options.min_face = std::strtof(value().c_str(), nullptr);
    else if (arg == "--pose") pose = true;
    else if (arg == "--mirror-average") detector_options.mirror_average = true;
    else if (arg == "--no-upright") detector_options.upright = false;
    else if (arg == "--refine") {
      const std::string v = value();
      const std::optional<int> n = cli::integer_in(v, 0, 10);
      if (!n) usage(("--refine takes a pass count 0-10, not '" + v + "'").c_str());
      detector_options.refine = *n;
    }
    else if (arg == "--box") {
      pfld::Box b;
      if (std::sscanf(value().c_str(), "%f,%f,%f,%f", &b.x, &b.y, &b.width, &b.height) != 4) usage("--box takes X,Y,W,H");
      boxes.push_back(b);
    } else if (arg == "--help" || arg == "-h") usage(nullptr);
    else if (!arg.empty() && arg[0] == '-') usage(("unknown option " + arg).c_str());
    else if (image_path.empty()) image_path = arg;
    else usage(("more than one image: " + arg).c_str());
  }
  if (weights.empty()) usage("--weights is required");
  if (image_path.empty()) usage("no image given");
  try {
    pfld::Detector detector = pfld::Detector::load(weights, detector_options);
    const pfld::Image image = pfld::io::read_image(image_path);
    std::vector<pfld::DetectedFace> faces;
    if (boxes.empty()) {
      detector.set_face_detector(std::make_shared<const pfld::FaceDetector>(pfld::FaceDetector::load(cascade, cascade_options)));
      faces = detector.detect_all(image.view());
    } else {
      const std::vector<pfld::Landmarks> points = detector.detect(image.view(), boxes);
      for (std::size_t i = 0; i < boxes.size(); ++i) faces.push_back({pfld::FaceBox{}, boxes[i], points[i]});
    }

    std::printf("{\"image\": \"%s\", \"width\": %d, \"height\": %d, \"faces\": [", image_path.c_str(), image.width,
                image.height);
    for (std::size_t f = 0; f < faces.size(); ++f) {
      const pfld::DetectedFace& face = faces[f];
      std::printf("%s\n  {\"box\": [%.1f, %.1f, %.1f, %.1f], ", f ? "," : "", static_cast<double>(face.box.x),
                  static_cast<double>(face.box.y), static_cast<double>(face.box.width), static_cast<double>(face.box.height));
      if (boxes.empty())
        std::printf("\"detection\": [%.0f, %.0f, %.0f, %.0f], ", static_cast<double>(face.detection.box.x),
                    static_cast<double>(face.detection.box.y), static_cast<double>(face.detection.box.width),
                    static_cast<double>(face.detection.box.height));
      else
        std::printf("\"detection\": null, ");
      std::printf("\"landmarks\": [");
      for (std::size_t i = 0; i < face.landmarks.size(); ++i)
        std::printf("%s[%.2f, %.2f]", i ? ", " : "", static_cast<double>(face.landmarks[i].x),
                    static_cast<double>(face.landmarks[i].y));
      std::printf("]");
      if (pose) {
        const pfld::HeadPose p = detector.head_pose(face.landmarks, face.box);
        std::printf(", \"pose\": {\"yaw\": %.2f, \"pitch\": %.2f, \"roll\": %.2f}", static_cast<double>(p.yaw),
                    static_cast<double>(p.pitch), static_cast<double>(p.roll));
      }
      std::printf("}");
    }
    std::printf("]}\n");
    if (faces.empty()) std::fprintf(stderr, "pfld_detect: no face found in %s\n", image_path.c_str());

    if (!out.empty()) {
      pfld::Image canvas = image;
      const int thickness = std::max(2, std::max(image.width, image.height) / 300);
      const int radius = std::max(2, std::max(image.width, image.height) / 250);
      for (const pfld::DetectedFace& face : faces) {
        if (boxes.empty()) draw::box(canvas, face.detection.box, draw::Colour{160, 160, 160}, thickness);
        draw::box(canvas, face.box, draw::Colour{40, 220, 80}, thickness);
        for (std::size_t i = 0; i < face.landmarks.size(); ++i)
          draw::dot(canvas, face.landmarks[i], radius, draw::landmark_colour(i, face.landmarks.size()));
      }
      pfld::io::write_png(out, canvas);
      std::fprintf(stderr, "pfld_detect: %zu face(s); wrote %s\n", faces.size(), out.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pfld_detect: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace pfld_detect
