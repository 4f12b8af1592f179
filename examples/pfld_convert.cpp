// pfld_convert: pfld weights <-> ONNX.
//
//   pfld_convert IN.pfld OUT.onnx     export (opset 11; batch norm folded; input "image" [1,3,S,S] RGB in
//                                     [0, 1]; output "landmarks" [1, 2N] in crop units); an int8 model
//                                     in QDQ form (opset 13)
//   pfld_convert IN.onnx OUT.pfld     import an ONNX graph of PFLD's own architecture as a pfld weights
//                                     file (other PFLD variants run directly: Detector::load("x.onnx"))
//   pfld_convert --info IN.onnx       the graph's inputs, outputs and op counts, and whether pfld runs it
//   pfld_convert --quantize --data DIR [--faces N] [--range min_max|percentile|mse] IN.pfld OUT.pfld
//                                     an int8 model: its activation ranges calibrated on the standard
//                                     crops of the first N annotated faces of DIR (default 300)
//   pfld_convert --quantize --data DIR [--faces N] [--range ...] YUNET.onnx OUT.ranges
//                                     the face detector's int8 form: its activation ranges calibrated
//                                     on the first N photos under DIR (load_face_detector runs it)
//   pfld_convert IN.ranges OUT.onnx   that int8 face detector in QDQ form (opset 13) for other runtimes
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "common/cli.hpp"
#include "tools.hpp"

namespace pfld_convert {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const char* kUsage =
    "usage: pfld_convert IN.pfld OUT.onnx | pfld_convert IN.onnx OUT.pfld | pfld_convert --info IN.onnx\n"
    "       pfld_convert IN.ranges OUT.onnx   (a YuNet's int8 ranges: the int8 network in QDQ form)\n"
    "       pfld_convert --quantize --data DIR [--faces N] [--range min_max|percentile|mse] IN.pfld OUT.pfld\n"
    "       pfld_convert --quantize --data DIR [--faces N] [--range ...] YUNET.onnx OUT.ranges\n"
    "  --quantize   write an int8 model (Detector::load runs it like any weights file), its activation\n"
    "               ranges calibrated on the standard crops of the first N annotated faces of DIR (.pts\n"
    "               beside each image; default 300); --range picks how a range is drawn from them.\n"
    "               For a YuNet face detector: the ranges of its int8 form, calibrated on the first N\n"
    "               photos under DIR (load_face_detector and --detector take the .ranges file)\n";

// pfld_convert --quantize ... YUNET.onnx OUT.ranges: the face detector's int8 ranges.
int quantize_detector(const std::string& data, int photos, const pfld::CalibrationOptions& calibration,
                      const std::string& in, const std::string& out) {
  namespace fs = std::filesystem;
  const pfld::io::OnnxModel model = pfld::io::read_onnx(in);
  pfld::YuNet(model, in);  // (an Error now when it is not a YuNet network)
  std::vector<std::string> paths = pfld::list_photos(data);
  if (paths.size() > static_cast<std::size_t>(photos)) paths.resize(static_cast<std::size_t>(photos));
  pfld::Image current;  // (one photo in memory at a time: they are read again for the second pass)
  pfld::ActivationRanges ranges = pfld::calibrate_yunet(
      model, static_cast<int>(paths.size()),
      [&](int i) { return (current = pfld::io::read_image(paths[static_cast<std::size_t>(i)])).view(); }, calibration);
  // The model as the ranges file finds it: relative to the file's own folder.
  const fs::path folder = fs::absolute(out).parent_path();
  ranges.metadata["model"] = fs::absolute(in).lexically_relative(folder).generic_string();
  ranges.metadata["calibration"] = std::to_string(paths.size()) + " photos of " + data;
  ranges.metadata["method"] = pfld::to_string(calibration.method);
  pfld::save_activation_ranges(out, ranges);
  std::printf("wrote %s: int8 ranges of %zu tensors of %s, %zu calibration photos, %s ranges\n", out.c_str(),
              ranges.ranges.size(), in.c_str(), paths.size(), pfld::to_string(calibration.method));
  return 0;
}

// pfld_convert --quantize ...: float weights -> int8 model file.
int quantize(int argc, char** argv) {
  std::string data, in, out;
  int faces = 300;
  pfld::CalibrationOptions calibration;
  cli::ArgReader args(argc, argv);
  args.next();  // --quantize
  while (args.next()) {
    const std::string& arg = args.arg();
    if (arg == "--data") data = args.value();
    else if (arg == "--faces") faces = args.integer(1, 100000);
    else if (arg == "--range") {
      const std::string range = args.value();
      if (range == "min_max") calibration.method = pfld::RangeMethod::min_max;
      else if (range == "percentile") calibration.method = pfld::RangeMethod::percentile;
      else if (range == "mse") calibration.method = pfld::RangeMethod::mse;
      else throw cli::UsageError("--range takes min_max, percentile or mse, not '" + range + "'");
    } else if (args.is_option()) throw cli::UsageError("unknown option '" + arg + "'");
    else if (in.empty()) in = arg;
    else if (out.empty()) out = arg;
    else throw cli::UsageError("one IN and one OUT, not '" + arg + "' too");
  }
  if (data.empty()) throw cli::UsageError("--quantize needs --data DIR (calibration faces)");
  if (ends_with(in, ".onnx")) {
    if (out.empty() || !ends_with(out, ".ranges")) throw cli::UsageError("--quantize of a face detector takes IN.onnx OUT.ranges");
    return quantize_detector(data, faces, calibration, in, out);
  }
  if (out.empty() || !ends_with(in, ".pfld") || !ends_with(out, ".pfld")) throw cli::UsageError("--quantize takes IN.pfld OUT.pfld");
  const pfld::io::ModelFile file = pfld::io::ModelFile::load(in);
  pfld::io::require_pfld_tensors(file, in);
  if (pfld::io::is_int8_model(file)) throw pfld::Error(in + ": the model is int8 already");
  std::vector<pfld::FaceRecord> records = pfld::list_pts_folder(data);
  if (records.empty()) throw pfld::Error("no annotated faces in " + data);
  if (records.size() > static_cast<std::size_t>(faces)) records.resize(static_cast<std::size_t>(faces));
  pfld::ThreadPool pool;
  const pfld::FaceSet set = pfld::load_faces(records, pfld::io::read_image, {}, &pool);
  const pfld::eval::EvalCrops crops = pfld::eval::make_eval_crops(set, file.config.input_size, 1.2f, &pool);
  const pfld::model::PfldTensorLookup tensors = [&](const std::string& name) -> const pfld::Tensor& { return *file.find(name); };
  const auto graph = pfld::build_inference_graph(file.config, tensors);
  const pfld::ActivationRanges ranges = pfld::calibrate_activations(*graph, crops.images.data(), crops.images.dim(0), calibration);
  const pfld::io::ModelFile int8 = pfld::make_int8_model_file(
      file, pfld::quantize_network(file.config, tensors, ranges),
      {{"quantized_from", in},
       {"quantization.calibration", std::to_string(set.size()) + " faces of " + data},
       {"quantization.ranges", pfld::to_string(calibration.method)}});
  int8.save(out);
  std::printf("wrote %s: PFLD %s in int8, %zu calibration faces, %s ranges, %ju KB (float %ju KB)\n", out.c_str(),
              file.config.str().c_str(), set.size(), pfld::to_string(calibration.method),
              static_cast<std::uintmax_t>(std::filesystem::file_size(out) / 1024),
              static_cast<std::uintmax_t>(std::filesystem::file_size(in) / 1024));
  return 0;
}

std::string shape(const std::vector<std::int64_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
  return s + "]";
}

}  // namespace

int run(int argc, char** argv) {
  return cli::run_tool("pfld_convert", [&] {
    if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (argc >= 2 && std::string(argv[1]) == "--quantize") return quantize(argc, argv);
    if (argc != 3) throw cli::UsageError("expected two arguments, IN and OUT (or --info IN.onnx)");
    const std::string a = argv[1], b = argv[2];
    if (ends_with(a, ".ranges") && ends_with(b, ".onnx")) {  // a face detector's int8 form, for other runtimes
      pfld::YuNetOptions checked;  // (YuNet's constructor: an Error now when they do not belong together)
      checked.int8 = std::make_shared<const pfld::ActivationRanges>(pfld::load_activation_ranges(a));
      const std::string model = pfld::model_of(*checked.int8, a);
      const pfld::io::OnnxModel float_model = pfld::io::read_onnx(model);
      pfld::YuNet(float_model, model, checked);
      const pfld::io::OnnxModel qdq = pfld::io::export_qdq_onnx(float_model, *checked.int8, model);
      pfld::io::write_onnx(b, qdq);
      std::printf("wrote %s: %s in int8, QDQ form (opset %lld), %zu nodes\n", b.c_str(), model.c_str(),
                  static_cast<long long>(qdq.opset), qdq.nodes.size());
      return 0;
    }
    if (a == "--info") {
      const pfld::io::OnnxModel m = pfld::io::read_onnx(b);
      std::printf("%s: ir %lld, opset %lld, producer '%s', %zu nodes, %zu initializers\n", b.c_str(),
                  static_cast<long long>(m.ir_version), static_cast<long long>(m.opset), m.producer.c_str(), m.nodes.size(),
                  m.initializers.size());
      for (const auto& v : m.inputs) std::printf("  input  %s %s\n", v.name.c_str(), shape(v.shape).c_str());
      for (const auto& v : m.outputs) std::printf("  output %s %s\n", v.name.c_str(), shape(v.shape).c_str());
      std::map<std::string, int> ops;
      for (const auto& n : m.nodes) ++ops[n.op_type];
      for (const auto& [op, count] : ops) std::printf("  %-20s %d\n", op.c_str(), count);
      const auto net = pfld::import_onnx(m, {}, b);
      std::printf("pfld runs it: %d landmarks from a %dx%d crop, %.1f MFLOP\n", net->landmark_count(), net->input_size(),
                  net->input_size(), net->flops() / 1e6);
    } else if (ends_with(a, ".onnx") && ends_with(b, ".pfld")) {
      pfld::io::ModelFile file = pfld::onnx_to_model_file(pfld::io::read_onnx(a), a);
      file.metadata["converted_from"] = a;
      file.save(b);
      std::printf("wrote %s: PFLD %s\n", b.c_str(), file.config.str().c_str());
    } else if (ends_with(a, ".pfld") && ends_with(b, ".onnx")) {
      const pfld::io::ModelFile file = pfld::io::ModelFile::load(a);
      const pfld::io::OnnxModel m = pfld::io::export_onnx(file, a);
      pfld::io::write_onnx(b, m);
      std::printf("wrote %s: PFLD %s%s, opset %lld\n", b.c_str(), file.config.str().c_str(),
                  pfld::io::is_int8_model(file) ? " in int8 (QDQ)" : "", static_cast<long long>(m.opset));
    } else {
      throw cli::UsageError("convert .pfld -> .onnx or .onnx -> .pfld (by file extension)");
    }
    return 0;
  });
}

}  // namespace pfld_convert
