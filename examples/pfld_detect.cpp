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
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/draw.hpp"
#include "tools.hpp"

namespace pfld_detect {

namespace {

const char* kUsage =
    "usage: pfld_detect --weights FILE IMAGE [--out annotated.png] [--box X,Y,W,H]... [--cascade FILE]\n"
    "                   [--min-face PIXELS] [--pose] [--mirror-average] [--refine N] [--no-upright]\n"
    "  --refine N        crop each face again N times around the landmarks found (default 1)\n"
    "  --no-upright      refine with unturned crops (default: turned by the face's roll)\n";

int detect(int argc, char** argv) {
  std::string weights, image_path, out, cascade = pfld::default_face_cascade();
  std::vector<pfld::Box> boxes;
  pfld::CascadeOptions cascade_options;
  bool pose = false;
  pfld::DetectorOptions detector_options;
  detector_options.refine = 1;
  cli::ArgReader args(argc, argv);
  while (args.next()) {
    const std::string& arg = args.arg();
    if (arg == "--weights") weights = args.value();
    else if (arg == "--out") out = args.value();
    else if (arg == "--cascade") cascade = args.value();
    else if (arg == "--min-face") cascade_options.min_face = args.number(1.0f, 1e5f);
    else if (arg == "--pose") pose = true;
    else if (arg == "--mirror-average") detector_options.mirror_average = true;
    else if (arg == "--no-upright") detector_options.upright = false;
    else if (arg == "--refine") detector_options.refine = args.integer(0, 10);
    else if (arg == "--box") {
      pfld::Box b;
      char end = 0;
      if (std::sscanf(args.value().c_str(), "%f,%f,%f,%f%c", &b.x, &b.y, &b.width, &b.height, &end) != 4)
        throw cli::UsageError("--box takes X,Y,W,H (four numbers)");
      boxes.push_back(b);
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (args.is_option()) throw cli::UsageError("unknown option '" + arg + "'");
    else if (image_path.empty()) image_path = arg;
    else throw cli::UsageError("more than one image: " + arg);
  }
  if (weights.empty()) throw cli::UsageError("--weights is required");
  if (image_path.empty()) throw cli::UsageError("no image given");

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
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  return cli::run_tool("pfld_detect", [&] { return detect(argc, argv); });
}

}  // namespace pfld_detect
