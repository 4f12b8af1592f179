// pfld_label: landmarks for unlabelled face photos from a teacher, kept where its members agree.
//
//   pfld_label --teacher FILE [--teacher FILE ...] [--teacher-mirror] [--teacher-readout --data DIR]
//              --images DIR --out DIR [--max-spread PERCENT] [--refine N] [--limit N] [--threads N]
//
// Every photo under --images (searched recursively: .jpg, .jpeg, .png, .bmp) has its face nearest the
// centre found by the default face detector (the shipped YuNet) and labelled by the teachers' mean
// (train::PseudoLabeller: --refine crops again around the landmarks found, upright; default 1). A face
// is kept when its spread, the teachers' mean NME against their mean, is at most --max-spread percent
// of the inter-ocular distance (default 3). Kept faces are written as OUT/<photo's path>.pts and listed
// in OUT/labels.txt (image, .pts, spread), which pfld_train --pseudo reads. The teachers are built as
// pfld_train builds them (train::build_teacher); --teacher-readout fits each one's readout on the
// annotated faces of --data.
//
// A photo with a .pts beside it (an annotated set such as 300-W's val) is also scored: the labels' NME
// against the annotation, over all faces and over the kept ones, and the spread's deciles, so the
// threshold can be chosen on faces whose truth is known. The last stdout line is one JSON object:
//   {"photos": N, "found": F, "kept": K, "max_spread": <percent>[, "nme_all": .., "nme_kept": ..]}
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "tools.hpp"

namespace pfld_label {

namespace {

const char* kUsage =
    "usage: pfld_label --teacher FILE [--teacher FILE ...] [--teacher-mirror] [--teacher-readout --data DIR]\n"
    "                  --images DIR --out DIR [--max-spread PERCENT] [--refine N] [--limit N] [--threads N]\n"
    "  --teacher FILE      a trained network (.pfld or .onnx); several: their mean labels\n"
    "  --teacher-mirror    each teacher averaged with its prediction on the mirrored crop\n"
    "  --teacher-readout   each teacher read through a linear map fitted on --data's faces\n"
    "  --data DIR          annotated faces (image + .pts) the readouts are fitted on\n"
    "  --images DIR        the photos to label (searched recursively)\n"
    "  --out DIR           where the .pts files and labels.txt go\n"
    "  --max-spread P      keep a face when the teachers' mean NME against their mean is at most P %\n"
    "                      of the inter-ocular distance (default 3)\n"
    "  --refine N          crops again around the landmarks found, upright (default 1)\n"
    "  --limit N           the first N photos only (in path order)\n";

int label(int argc, char** argv) {
  std::vector<std::string> teachers;
  std::string data, images, out;
  pfld::train::TeacherOptions teacher_options;
  pfld::DetectorOptions detector_options;
  detector_options.refine = 1;
  float max_spread = 3.0f;
  int threads = 0, limit = 0;
  cli::ArgReader args(argc, argv);
  while (args.next()) {
    const std::string& arg = args.arg();
    if (arg == "--teacher") teachers.push_back(args.value());
    else if (arg == "--teacher-mirror") teacher_options.mirror = true;
    else if (arg == "--teacher-readout") teacher_options.readout = true;
    else if (arg == "--data") data = args.value();
    else if (arg == "--images") images = args.value();
    else if (arg == "--out") out = args.value();
    else if (arg == "--max-spread") max_spread = args.number(0.0f, 1000.0f);
    else if (arg == "--refine") detector_options.refine = args.integer(0, 10);
    else if (arg == "--limit") limit = args.integer(1, 100000000);
    else if (arg == "--threads") threads = args.integer(0, 1024);
    else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else throw cli::UsageError("unknown option '" + arg + "'");
  }
  if (teachers.empty()) throw cli::UsageError("--teacher FILE is required");
  if (images.empty() || out.empty()) throw cli::UsageError("--images DIR and --out DIR are required");
  if (teacher_options.readout && data.empty()) throw cli::UsageError("--teacher-readout needs --data DIR");
  pfld::set_num_threads(threads);
  pfld::ThreadPool& pool = pfld::default_thread_pool();

  // The teachers' scheme: 68 points (300-W), fitted and checked on --data when given.
  pfld::FaceSet faces;
  pfld::DatasetOptions dataset_options;
  if (!data.empty()) {
    dataset_options.pts.expected_points = 68;
    faces = pfld::load_faces(pfld::list_pts_folder(data, dataset_options), pfld::io::read_image, dataset_options, &pool);
  } else {
    faces.landmark_count = 68;
  }
  const pfld::train::Teacher teacher =
      pfld::train::build_teacher(teachers, faces, pfld::mirror_map_for(faces.landmark_count), teacher_options);

  std::vector<std::string> photos = pfld::list_photos(images);
  if (limit > 0 && photos.size() > static_cast<std::size_t>(limit)) photos.resize(static_cast<std::size_t>(limit));
  std::vector<pfld::train::PseudoLabel> labels(photos.size());
  std::vector<float> truth_nme(photos.size(), -1.0f);  // against a .pts beside the photo, when there is one
  std::vector<std::string> errors(photos.size());
  const pfld::train::PseudoLabeller prototype(teacher, detector_options);
  // Photo i's label; one with an annotation beside it (.pts) is the face it marks, scored against it.
  auto label_photo = [&](pfld::train::PseudoLabeller& labeller, std::size_t i) {
    const pfld::Image image = pfld::io::read_image(photos[i]);
    std::filesystem::path pts(photos[i]);
    pts.replace_extension(".pts");
    if (!std::filesystem::exists(pts)) {
      labels[i] = labeller.label(image.view());
      return;
    }
    const pfld::Landmarks truth = pfld::read_pts(pts.string());
    const std::vector<pfld::FaceRegion> regions = labeller.regions(image.view());
    const int match = pfld::eval::match_face(regions, truth);
    if (match < 0) return;
    labels[i] = labeller.label(image.view(), regions[static_cast<std::size_t>(match)]);
    truth_nme[i] = pfld::eval::nme(labels[i].points, truth);
  };
  std::atomic<std::size_t> done{0};
  pool.parallel_for(0, photos.size(), [&](std::size_t lo, std::size_t hi) {
    pfld::train::PseudoLabeller labeller = prototype;  // (its own arenas)
    for (std::size_t i = lo; i < hi; ++i) {
      try {
        label_photo(labeller, i);
      } catch (const pfld::Error& e) {
        errors[i] = e.what();
      }
      const std::size_t n = ++done;
      if (n % 1000 == 0) std::fprintf(stderr, "pfld_label: %zu of %zu photos\n", n, photos.size());
    }
  });
  for (const std::string& e : errors)
    if (!e.empty()) throw pfld::Error(e);

  const float threshold = max_spread / 100.0f;
  const std::size_t kept = pfld::train::write_pseudo_labels(photos, labels, images, out, threshold);
  std::size_t found = 0;
  std::vector<float> spreads, all, kept_nme;
  for (std::size_t i = 0; i < photos.size(); ++i) {
    if (!labels[i].found) continue;
    ++found;
    spreads.push_back(labels[i].spread);
    if (truth_nme[i] < 0) continue;
    all.push_back(truth_nme[i]);
    if (labels[i].spread <= threshold) kept_nme.push_back(truth_nme[i]);
  }
  std::sort(spreads.begin(), spreads.end());
  std::printf("photos %zu, a face found in %zu, kept %zu (spread <= %.2f %%)\n", photos.size(), found, kept,
              static_cast<double>(max_spread));
  if (!spreads.empty()) {
    std::printf("spread deciles (%%):");
    for (int d = 1; d <= 9; ++d)
      std::printf(" %.2f", 100.0 * static_cast<double>(spreads[spreads.size() * static_cast<std::size_t>(d) / 10]));
    std::printf("\n");
  }
  auto mean = [](const std::vector<float>& v) { return v.empty() ? 0.0 : 100.0 * pfld::eval::summarize(v).mean_nme; };
  std::string scored;
  if (!all.empty()) {
    std::printf("against the annotations beside the photos: NME %.3f %% over %zu faces, %.3f %% over the %zu kept\n",
                mean(all), all.size(), mean(kept_nme), kept_nme.size());
    char text[96];
    std::snprintf(text, sizeof text, ", \"nme_all\": %.4f, \"nme_kept\": %.4f", mean(all), mean(kept_nme));
    scored = text;
  }
  std::printf("{\"photos\": %zu, \"found\": %zu, \"kept\": %zu, \"max_spread\": %.3f%s}\n", photos.size(), found, kept,
              static_cast<double>(max_spread), scored.c_str());
  return 0;
}

}  // namespace

int run(int argc, char** argv) { return cli::run_tool("pfld_label", [&] { return label(argc, argv); }); }

}  // namespace pfld_label
