// pfld_detect: a photo in, faces and their landmarks out, as JSON on stdout and an annotated PNG.
//
//   pfld_detect [--weights FILE] IMAGE [--out annotated.png] [--box X,Y,W,H]... [--detector FILE]
//               [--min-face PIXELS] [--pose] [--mirror-average] [--refine N] [--no-upright]
//
// --weights defaults to the shipped pfld-0.25x-68.pfld. Faces come from the face detector (default: the
// shipped YuNet; --detector takes another YuNet .onnx, YuNet in int8 (a .ranges file of pfld_convert
// --quantize) or an OpenCV cascade .xml), each cropped from the
// region its map gives (turned upright by the eye keypoints when the detector has them), or from --box
// (image pixels, the face's landmark box; repeatable).
// --mirror-average averages each face's landmarks with its mirror image's (twice the time). --refine N
// (default 1) crops each face again around the landmarks found, the crop the network was trained on: a
// detector's box frames a face differently (300-W val, shipped 1X: 4.69 -> 4.29 % NME); that crop is
// turned so the face stands upright in it (a tilted head), unless --no-upright. The PNG shows each
// detection's box in grey with its keypoints, and the landmarks.
// JSON: {"image": .., "width": W, "height": H, "faces": [{"region": {"centre": [x, y], "side": s,
//        "angle": radians}, "detection": {"box": [x, y, w, h], "score": s, "keypoints": [[x, y], ...]} | null,
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
    "usage: pfld_detect [--weights FILE] IMAGE [--out annotated.png] [--box X,Y,W,H]... [--detector FILE]\n"
    "                   [--min-face PIXELS] [--pose] [--mirror-average] [--refine N] [--no-upright]\n"
    "  --weights FILE    landmark weights (.pfld or .onnx; default the shipped pfld-0.25x-68.pfld)\n"
    "  --detector FILE   face detector: YuNet .onnx, YuNet int8 .ranges or OpenCV cascade .xml (default\n"
    "                    the shipped YuNet)\n"
    "  --refine N        crop each face again N times around the landmarks found (default 1)\n"
    "  --no-upright      refine with unturned crops (default: turned by the face's roll)\n";

int detect(int argc, char** argv) {
  std::string weights, image_path, out, face_detector;
  std::vector<pfld::Box> boxes;
  float min_face = 0.0f;
  bool pose = false;
  pfld::DetectorOptions detector_options;
  detector_options.refine = 1;
  cli::ArgReader args(argc, argv);
  while (args.next()) {
    const std::string& arg = args.arg();
    if (arg == "--weights") weights = args.value();
    else if (arg == "--out") out = args.value();
    else if (arg == "--detector") face_detector = args.value();
    else if (arg == "--min-face") min_face = args.number(1.0f, 1e5f);
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
  if (image_path.empty()) throw cli::UsageError("no image given");
  if (weights.empty()) weights = pfld::io::shipped_weights("pfld-0.25x-68.pfld");

  pfld::Detector detector = pfld::Detector::load(weights, detector_options);
  const pfld::Image image = pfld::io::read_image(image_path);
  std::vector<pfld::DetectedFace> faces;
  if (boxes.empty()) {
    if (!face_detector.empty() || min_face > 0)
      detector.set_face_detector(pfld::load_face_detector(face_detector.empty() ? pfld::default_face_detector_path() : face_detector, min_face));
    faces = detector.detect_all(image.view());
  } else {
    const std::vector<pfld::Landmarks> points = detector.detect(image.view(), boxes);
    for (std::size_t i = 0; i < boxes.size(); ++i)
      faces.push_back({pfld::FaceDetection{}, pfld::FaceRegion::from_box(boxes[i]), points[i]});
  }

  std::printf("{\"image\": \"%s\", \"width\": %d, \"height\": %d, \"faces\": [", image_path.c_str(), image.width,
              image.height);
  for (std::size_t f = 0; f < faces.size(); ++f) {
    const pfld::DetectedFace& face = faces[f];
    const pfld::FaceRegion& r = face.region;
    std::printf("%s\n  {\"region\": {\"centre\": [%.1f, %.1f], \"side\": %.1f, \"angle\": %.4f}, ", f ? "," : "",
                static_cast<double>(r.centre.x), static_cast<double>(r.centre.y), static_cast<double>(r.side),
                static_cast<double>(r.angle));
    if (boxes.empty()) {
      const pfld::FaceDetection& d = face.detection;
      std::printf("\"detection\": {\"box\": [%.1f, %.1f, %.1f, %.1f], \"score\": %.3f, \"keypoints\": [",
                  static_cast<double>(d.box.x), static_cast<double>(d.box.y), static_cast<double>(d.box.width),
                  static_cast<double>(d.box.height), static_cast<double>(d.score));
      for (std::size_t k = 0; d.has_keypoints && k < d.keypoints.size(); ++k)
        std::printf("%s[%.1f, %.1f]", k ? ", " : "", static_cast<double>(d.keypoints[k].x), static_cast<double>(d.keypoints[k].y));
      std::printf("]}, ");
    } else {
      std::printf("\"detection\": null, ");
    }
    std::printf("\"landmarks\": [");
    for (std::size_t i = 0; i < face.landmarks.size(); ++i)
      std::printf("%s[%.2f, %.2f]", i ? ", " : "", static_cast<double>(face.landmarks[i].x),
                  static_cast<double>(face.landmarks[i].y));
    std::printf("]");
    if (pose) {
      const pfld::HeadPose p = detector.head_pose(face.landmarks, face.region);
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
    for (std::size_t f = 0; f < faces.size(); ++f) {
      const pfld::DetectedFace& face = faces[f];
      if (boxes.empty()) {
        draw::box(canvas, face.detection.box, draw::Colour{160, 160, 160}, thickness);
        for (std::size_t k = 0; face.detection.has_keypoints && k < face.detection.keypoints.size(); ++k)
          draw::dot(canvas, face.detection.keypoints[k], radius + 1, draw::Colour{160, 160, 160});
      } else {
        draw::box(canvas, boxes[f], draw::Colour{40, 220, 80}, thickness);
      }
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
