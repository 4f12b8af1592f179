// pfld_eval: landmark accuracy of a weights file on annotated faces, with the field's metrics.
//
//   pfld_eval --weights FILE (--data DIR | --wflw LIST --images DIR)
//             [--norm inter_ocular|inter_pupil|box] [--detector [FILE]] [--csv FILE] [--ced FILE.svg]
//             [--threads N] [--mirror-average] [--refine N] [--no-upright] [--landmarks N] [--roll DEG]
//             [--track]
//
// Each face is cropped the standard way (a square of 1.2x the longer side of its ground-truth landmark
// box) and run through the fused inference engine, or, with --detector, cropped from the region the face
// detector maps its detection to (FILE: a YuNet .onnx, YuNet int8 .ranges or an OpenCV cascade .xml; default the shipped
// YuNet; a face is found by eval::match_face, faces it misses are reported and left out); --mirror-average averages each face with
// its mirror image (DetectorOptions::mirror_average); --refine N crops each face again N times around
// the landmarks just found, turned upright by their eye line unless --no-upright (DetectorOptions::refine,
// upright); --roll DEG turns every face in its image by DEG degrees, one way and the other in turn,
// before anything else (how a tilted head is coped with); --track crops each face as a tracker would
// (Detector::track: around its annotated landmarks, turned upright); --landmarks N reads a model of another scheme in
// the data's (a WFLW-98 model on 300-W's 68 points, through the point correspondence). Prints NME (inter-ocular by default),
// failure rate and AUC at 0.08 and 0.10; writes a per-image CSV and a CED plot when asked. The last
// stdout line is one JSON object:
//   {"faces": N, "nme": <percent>, "fr_0.08": .., "fr_0.10": .., "auc_0.08": .., "auc_0.10": ..}
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/svg_plot.hpp"
#include "tools.hpp"

namespace pfld_eval {

namespace {

const char* kUsage =
    "usage: pfld_eval --weights FILE (--data DIR | --wflw LIST --images DIR)\n"
    "                 [--norm inter_ocular|inter_pupil|box] [--detector [FILE]] [--csv FILE]\n"
    "                 [--ced FILE.svg] [--threads N] [--mirror-average] [--refine N] [--no-upright]\n"
    "                 [--landmarks N] [--roll DEG] [--track]\n"
    "  --mirror-average  also run each face's mirror image and average the two (twice the time)\n"
    "  --refine N        crop each face again N times around the landmarks found (one run each),\n"
    "                    turned so the face is upright in the crop (not with --no-upright)\n"
    "  --roll DEG        turn each face in its image by +DEG and -DEG degrees in turn first\n"
    "  --detector [FILE] crop from a face detector's faces (YuNet .onnx, YuNet int8 .ranges or cascade\n"
    "                    .xml; default the shipped YuNet), not from the annotation\n"
    "  --track           first crop around the annotated landmarks, turned upright (a tracker's)\n"
    "  --landmarks N     the data's point count, when the weights have another (98 -> 68)\n";

int evaluate(int argc, char** argv) {
  std::string weights, data, wflw, images, csv, ced, norm_name = "inter_ocular", face_detector;
  bool use_detector = false;
  pfld::DetectorOptions detector_options;
  int threads = 0;
  float roll = 0.0f;
  bool track = false;
  cli::ArgReader args(argc, argv);
  while (args.next()) {
    const std::string& arg = args.arg();
    if (arg == "--weights") weights = args.value();
    else if (arg == "--data") data = args.value();
    else if (arg == "--wflw") wflw = args.value();
    else if (arg == "--images") images = args.value();
    else if (arg == "--norm") norm_name = args.value();
    else if (arg == "--csv") csv = args.value();
    else if (arg == "--ced") ced = args.value();
    else if (arg == "--threads") threads = args.integer(0, 1024);
    else if (arg == "--mirror-average") detector_options.mirror_average = true;
    else if (arg == "--no-upright") detector_options.upright = false;
    else if (arg == "--track") track = true;
    else if (arg == "--roll") roll = args.number(-180.0f, 180.0f);
    else if (arg == "--refine") detector_options.refine = args.integer(0, 10);
    else if (arg == "--landmarks") detector_options.landmarks = args.integer(1, 1000);
    else if (arg == "--detector") {
      use_detector = true;
      face_detector = args.optional_value().value_or("");
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else throw cli::UsageError("unknown option '" + arg + "'");
  }
  if (weights.empty()) throw cli::UsageError("--weights is required");
  if (track && use_detector) throw cli::UsageError("--track and --detector are two different first crops: give one");
  if (data.empty() == wflw.empty()) throw cli::UsageError("give one of --data DIR or --wflw LIST");
  if (!wflw.empty() && images.empty()) throw cli::UsageError("--wflw needs --images DIR");
  pfld::set_num_threads(threads);
  const pfld::eval::Normalization norm = pfld::eval::parse_normalization(norm_name);
  pfld::Detector detector = pfld::Detector::load(weights, detector_options);
  if (use_detector) detector.set_face_detector(pfld::load_face_detector(face_detector.empty() ? pfld::default_face_detector_path() : face_detector));
  pfld::DatasetOptions options;
  options.pts.expected_points = detector.landmark_count();
  const std::vector<pfld::FaceRecord> records = data.empty() ? pfld::list_wflw(wflw, images, options)
                                                             : pfld::list_pts_folder(data, options);
  if (records.empty()) throw pfld::Error("no annotated faces in " + (data.empty() ? wflw : data));

  std::vector<float> nmes;
  std::vector<std::string> rows;
  std::size_t missed = 0;
  for (std::size_t r = 0; r < records.size(); ++r) {
    const pfld::FaceRecord& record = records[r];
    pfld::Image image = pfld::io::read_image(record.image_path);
    pfld::Landmarks annotated = record.landmarks;
    if (roll != 0.0f) {
      const pfld::Box b = pfld::bounding_box(annotated);
      pfld::TurnedFace turned = pfld::turn_face(image.view(), annotated, {b.center_x(), b.center_y()}, r % 2 ? -roll : roll);
      image = std::move(turned.image);
      annotated = std::move(turned.landmarks);
    }
    const pfld::Box truth = pfld::bounding_box(annotated);
    pfld::Landmarks predicted;
    if (use_detector) {
      pfld::FaceDetector& faces = detector.face_detector();
      std::vector<pfld::FaceRegion> regions;
      for (const pfld::FaceDetection& f : faces.detect(image.view())) regions.push_back(faces.landmark_region(f));
      const int match = pfld::eval::match_face(regions, annotated);
      if (match < 0) {
        ++missed;
        rows.push_back(record.image_path + ",,missed");
        continue;
      }
      predicted = detector.detect(image.view(), regions[static_cast<std::size_t>(match)]);
    } else if (track) {
      predicted = detector.track(image.view(), annotated);
    } else {
      predicted = detector.detect(image.view(), truth);
    }
    const float e = pfld::eval::nme(predicted, annotated, norm);
    nmes.push_back(e);
    char line[64];
    std::snprintf(line, sizeof line, ",%.6f,", static_cast<double>(e));
    rows.push_back(record.image_path + line);
  }
  if (nmes.empty()) throw pfld::Error("the face detector found none of the " + std::to_string(records.size()) + " faces");
  const pfld::eval::Summary s = pfld::eval::summarize(nmes);

  if (!csv.empty()) {
    std::ofstream out(csv);
    if (!out) throw pfld::Error(csv + ": cannot open for writing");
    out << "image,nme,note\n";
    for (const std::string& r : rows) out << r << "\n";
  }
  if (!ced.empty()) {
    plot::Series curve{"CED", "#1f77b4", {}, {}};
    for (int i = 0; i <= 1000; ++i) {
      const double t = i * 1e-4;
      curve.x.push_back(t * 100);
      curve.y.push_back(1.0 - s.fraction_above(t));
    }
    plot::write(ced, plot::chart("Cumulative error distribution (" + norm_name + ")", "NME (%)", "fraction of faces", {curve}));
  }
  const char* crops = use_detector ? "face detector regions" : track ? "crops tracked from the annotation" : "ground-truth boxes";
  std::printf("weights %s: %d landmarks; %s on %s", weights.c_str(), detector.landmark_count(), crops,
              (data.empty() ? wflw : data).c_str());
  if (roll != 0.0f) std::printf(", faces turned by +-%g degrees", static_cast<double>(roll));
  std::printf("\n");
  if (use_detector) std::printf("faces the detector missed: %zu of %zu (left out)\n", missed, records.size());
  std::printf("faces %zu  NME %.3f %%  FR@0.08 %.4f  FR@0.10 %.4f  AUC@0.08 %.4f  AUC@0.10 %.4f\n", s.faces,
              100.0 * s.mean_nme, s.failure_rate(0.08), s.failure_rate(0.10), s.auc(0.08), s.auc(0.10));
  std::printf("{\"faces\": %zu, \"nme\": %.4f, \"fr_0.08\": %.4f, \"fr_0.10\": %.4f, \"auc_0.08\": %.4f, \"auc_0.10\": %.4f}\n",
              s.faces, 100.0 * s.mean_nme, s.failure_rate(0.08), s.failure_rate(0.10), s.auc(0.08), s.auc(0.10));
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  return cli::run_tool("pfld_eval", [&] { return evaluate(argc, argv); });
}

}  // namespace pfld_eval
