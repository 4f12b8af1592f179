// ONNX in and out: the protobuf reader on bad files, export -> import round trips, the exported file in
// onnxruntime (npm onnxruntime-node, when PFLD_ORT_DIR points at a folder holding it) and OpenCV's dnn
// (Debian python3-opencv, when present), and the third-party PFLD model of ../shared/models against
// onnxruntime on real faces. Checks that need a missing runtime or file skip with a message.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include "support/random_model.hpp"

using namespace pfld;

namespace {

// A trainable network as ONNX, through the description's exporter.
io::OnnxModel export_net(model::PfldNet& net) { return io::export_onnx(net.config(), model::tensors_of(net)); }


const std::string kThirdParty = std::string(PFLD_TEST_DATA_DIR) + "/../models/pfld-0.25x-98-wflw.onnx";
const std::string kTools = std::string(PFLD_TEST_FIXTURES_DIR) + "/../tools";
std::string temp(const std::string& name) { return std::string(PFLD_TEST_TEMP_DIR) + "/" + name; }

std::string ort_module() {
  const char* dir = std::getenv("PFLD_ORT_DIR");
  if (!dir) return {};
  const std::string module = std::string(dir) + "/node_modules/onnxruntime-node";
  return std::filesystem::exists(module) ? module : std::string();
}

bool have_opencv_python() { return std::system("/usr/bin/python3 -c 'import cv2' >/dev/null 2>&1") == 0; }

void write_floats(const std::string& path, const std::vector<float>& v) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  REQUIRE(in);
  std::vector<float> v(static_cast<std::size_t>(in.tellg()) / 4);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

// NHWC crops -> one NCHW file.
std::vector<float> to_nchw(const std::vector<std::vector<float>>& crops, int size) {
  std::vector<float> out;
  const std::size_t pixels = static_cast<std::size_t>(size) * size;
  for (const auto& crop : crops)
    for (int c = 0; c < 3; ++c)
      for (std::size_t p = 0; p < pixels; ++p) out.push_back(crop[p * 3 + static_cast<std::size_t>(c)]);
  return out;
}

// Runs the model with onnxruntime-node on the crops; returns every output, all images concatenated.
std::vector<float> run_onnxruntime(const std::string& model, const std::vector<std::vector<float>>& crops,
                                   const std::string& output) {
  write_floats(temp("ort_input.bin"), to_nchw(crops, 112));
  const std::string command = "node '" + kTools + "/onnxruntime_run.js' '" + ort_module() + "' '" + model + "' '" +
                              temp("ort_input.bin") + "' " + std::to_string(crops.size()) + " 3 112 112 '" + temp("ort_out") + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  return read_floats(temp("ort_out." + output + ".bin"));
}

std::vector<std::vector<float>> random_crops(int count) {
  Rng rng(21);
  std::vector<std::vector<float>> crops(static_cast<std::size_t>(count), std::vector<float>(112 * 112 * 3));
  for (auto& c : crops)
    for (float& v : c) v = rng.uniform();
  return crops;
}

// pfld's own start (small landmark layer) with random batch-norm state.
std::unique_ptr<model::PfldNet> trained_looking_network(float width, int landmarks, Activation act) {
  return test::random_eval_network(width, landmarks, act, 5, false);
}

double max_abs_diff(const float* a, const float* b, std::size_t n) {
  double d = 0.0;
  for (std::size_t i = 0; i < n; ++i) d = std::max(d, std::abs(static_cast<double>(a[i]) - b[i]));
  return d;
}

}  // namespace

TEST_SUITE("onnx") {
  TEST_CASE("bad files: missing, not protobuf, truncated, absurd sizes, unsupported ops") {
    CHECK_THROWS_WITH_AS(io::read_onnx(temp("missing.onnx")), doctest::Contains("missing.onnx"), Error);
    std::ofstream(temp("text.onnx")) << "this is not an onnx file at all, just text\n";
    CHECK_THROWS_AS(io::read_onnx(temp("text.onnx")), Error);

    auto net = trained_looking_network(0.25f, 68, Activation::relu);
    const std::vector<unsigned char> bytes = io::serialize_onnx(export_net(*net));
    for (std::size_t cut : {bytes.size() / 3, bytes.size() / 2, bytes.size() - 7}) {
      CAPTURE(cut);
      CHECK_THROWS_AS(io::parse_onnx(std::vector<unsigned char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)), "cut.onnx"),
                      Error);
    }
    // A tensor claiming 2^40 elements.
    io::OnnxModel huge = export_net(*net);
    huge.initializers["fc.bias"].dims = {1LL << 40};
    CHECK_THROWS_WITH_AS(io::parse_onnx(io::serialize_onnx(huge), "huge.onnx"), doctest::Contains("huge.onnx"), Error);
    // An op pfld does not run: named in the error with its node.
    io::OnnxModel softmax = export_net(*net);
    io::OnnxNode n;
    n.op_type = "Softmax";
    n.name = "final_softmax";
    n.inputs = {"landmarks"};
    n.outputs = {"probabilities"};
    softmax.nodes.push_back(n);
    CHECK_THROWS_WITH_AS(import_onnx(softmax, {}, "softmax.onnx"), doctest::Contains("Softmax node 'final_softmax'"), Error);
  }

  TEST_CASE("hostile graphs: every attribute checked against its op before use, sizes within budgets") {
    auto net = trained_looking_network(0.25f, 68, Activation::relu);
    const io::OnnxModel good = export_net(*net);
    auto node_of = [](io::OnnxModel& m, const std::string& op) -> io::OnnxNode& {
      for (io::OnnxNode& n : m.nodes)
        if (n.op_type == op) return n;
      FAIL("no ", op, " node");
      throw;
    };
    auto set_ints = [](io::OnnxNode& n, const std::string& name, std::vector<std::int64_t> v) {
      for (io::OnnxAttribute& a : n.attributes)
        if (a.name == name) a.ints = v;
    };
    // Each damage, through the importer and through ONNX -> .pfld, as the file would carry it.
    auto expect = [&](const std::function<void(io::OnnxModel&)>& damage, const char* message) {
      io::OnnxModel m = good;
      damage(m);
      const io::OnnxModel read = io::parse_onnx(io::serialize_onnx(m), "bad.onnx");
      CAPTURE(message);
      CHECK_THROWS_WITH_AS(import_onnx(read, {}, "bad.onnx"), doctest::Contains(message), Error);
      CHECK_THROWS_WITH_AS(onnx_to_model_file(read, "bad.onnx"), doctest::Contains(message), Error);
    };
    expect([&](io::OnnxModel& m) { set_ints(node_of(m, "Conv"), "strides", {0, 0}); }, "'strides' holds 0, outside [1, 255]");
    expect([&](io::OnnxModel& m) { set_ints(node_of(m, "Conv"), "pads", {1, 1}); }, "'pads' holds 2 values");
    expect([&](io::OnnxModel& m) { set_ints(node_of(m, "Conv"), "kernel_shape", {1LL << 40, 3}); }, "outside [1, 255]");
    expect([&](io::OnnxModel& m) { node_of(m, "Conv").outputs.clear(); }, "has 0 outputs");
    expect([&](io::OnnxModel& m) { node_of(m, "Concat").inputs.clear(); }, "has 0 inputs");
    expect([&](io::OnnxModel& m) {
      for (io::OnnxAttribute& a : node_of(m, "Conv").attributes)
        if (a.name == "group") a.type = io::OnnxAttribute::float_;
    }, "'group' is a float, not an integer");
    expect([&](io::OnnxModel& m) {
      io::OnnxTensor& w = m.initializers.at(node_of(m, "Conv").inputs[1]);
      w.is_float = false;
      w.ints.assign(w.floats.size(), 1);
      w.floats.clear();
    }, "not a 4-D float tensor");
    expect([&](io::OnnxModel& m) {
      io::OnnxTensor& bias = m.initializers.at(node_of(m, "Conv").inputs[2]);
      bias.floats.pop_back();
      bias.dims = {static_cast<std::int64_t>(bias.floats.size())};
    }, "holds 15 values, not 16");

    // Input sides: 16384 asks for a multi-GB arena; 2^32 + 112 once became 112.
    for (std::int64_t side : {std::int64_t{16384}, (std::int64_t{1} << 32) + 112}) {
      io::OnnxModel m = good;
      m.inputs[0].shape = {1, 3, side, side};
      CHECK_THROWS_WITH_AS(import_onnx(io::parse_onnx(io::serialize_onnx(m), "big.onnx"), {}, "big.onnx"),
                           doctest::Contains("outside [8, 4096]"), Error);
    }
    // A tensor larger than the whole budget is refused when it is added (a 4096 x 4096 input: 192 MiB);
    // the arena, tensors sharing memory where their lives do not overlap, when the graph is finished.
    OnnxImportOptions roomy;
    roomy.max_arena_bytes = 64 << 20;
    io::OnnxModel wide = good;
    wide.inputs[0].shape = {1, 3, 4096, 4096};
    CHECK_THROWS_WITH_AS(import_onnx(wide, roomy, "wide.onnx"), doctest::Contains("arena budget of 67108864 bytes"), Error);
    const std::size_t needed = import_onnx(good, roomy, "good.onnx")->arena_floats() * sizeof(float);
    roomy.max_arena_bytes = needed;
    CHECK_NOTHROW(import_onnx(good, roomy, "good.onnx"));
    roomy.max_arena_bytes = needed - 64;
    const std::string too_small = "more than the arena budget of " + std::to_string(needed - 64) + " bytes";
    CHECK_THROWS_WITH_AS(import_onnx(good, roomy, "good.onnx"), doctest::Contains(too_small.c_str()), Error);

    // A pooling kernel of 0x0 ran and returned -inf.
    io::OnnxModel pooled = good;
    io::OnnxNode pool;
    pool.op_type = "MaxPool";
    pool.name = "empty_pool";
    pool.inputs = {"image"};
    pool.outputs = {"pooled"};
    pool.attributes.push_back(io::detail_export::GraphBuilder::ints("kernel_shape", {0, 0}));
    pooled.nodes.insert(pooled.nodes.begin(), pool);
    CHECK_THROWS_WITH_AS(import_onnx(pooled, {}, "pool.onnx"), doctest::Contains("MaxPool node 'empty_pool'"), Error);
  }

  TEST_CASE("export -> import: the imported graph equals the built one, every ISA and activation; ONNX -> pfld weights") {
    for (Activation act : {Activation::relu, Activation::relu6}) {
      auto net = trained_looking_network(0.25f, 68, act);
      const std::string path = temp("roundtrip.onnx");
      io::write_onnx(path, export_net(*net));
      const auto crops = random_crops(2);
      for (Isa isa : test::available_isas()) {
        CAPTURE(std::string(to_string(isa)));
        const auto fused = build_inference_graph(*net, isa);
        OnnxImportOptions options;
        options.isa = isa;
        const auto imported = load_onnx(path, options);
        CHECK(imported->landmark_count() == 68);
        InferenceArena a = fused->make_arena(), b = imported->make_arena();
        for (const auto& crop : crops) {
          const float* expected = fused->run(crop.data(), a);
          std::copy(crop.begin(), crop.end(), imported->input(b));
          CHECK(max_abs_diff(imported->run(b), expected, 136) < 1e-5);
        }
      }
      // ONNX -> pfld weights: the file's network (trainable, and its inference graph) computes the same,
      // the activation read back from the graph.
      const io::ModelFile converted = onnx_to_model_file(io::read_onnx(path), path);
      CHECK(converted.config.activation == act);
      const auto back = train::load_network(converted, path);
      back->set_training(false);
      const auto from_file = build_inference_graph(converted, path), original = build_inference_graph(*net);
      InferenceArena a = from_file->make_arena(), b = original->make_arena();
      for (const auto& crop : crops) {
        std::vector<float> expected(original->run(crop.data(), b), original->run(crop.data(), b) + 136);
        CHECK(max_abs_diff(from_file->run(crop.data(), a), expected.data(), 136) < 1e-5);
        Tensor batch(Shape{1, 112, 112, 3});
        std::copy(crop.begin(), crop.end(), batch.data());
        CHECK(max_abs_diff(back->forward(batch).data(), expected.data(), 136) < 1e-4);
      }
    }
  }

  TEST_CASE("exported models run in onnxruntime and OpenCV dnn with pfld's outputs (within 1e-4)") {
    // ReLU (pfld's default): OpenCV 4.6's dnn does not take opset 11's Clip with bound inputs (ReLU6).
    auto net = trained_looking_network(0.5f, 98, Activation::relu);
    const std::string path = temp("export_check.onnx");
    io::write_onnx(path, export_net(*net));
    const auto crops = random_crops(3);
    const auto fused = build_inference_graph(*net);
    InferenceArena arena = fused->make_arena();
    std::vector<float> ours;
    for (const auto& crop : crops) {
      const float* out = fused->run(crop.data(), arena);
      ours.insert(ours.end(), out, out + 196);
    }
    if (ort_module().empty()) {
      MESSAGE("skipped onnxruntime: set PFLD_ORT_DIR to a folder with node_modules/onnxruntime-node");
    } else {
      const std::vector<float> theirs = run_onnxruntime(path, crops, "landmarks");
      REQUIRE(theirs.size() == ours.size());
      CHECK(max_abs_diff(theirs.data(), ours.data(), ours.size()) < 1e-4);
      // ReLU6 (Clip) in onnxruntime too.
      auto net6 = trained_looking_network(0.25f, 68, Activation::relu6);
      io::write_onnx(temp("export_relu6.onnx"), export_net(*net6));
      const auto fused6 = build_inference_graph(*net6);
      InferenceArena arena6 = fused6->make_arena();
      const std::vector<float> theirs6 = run_onnxruntime(temp("export_relu6.onnx"), {crops[0]}, "landmarks");
      REQUIRE(theirs6.size() == 136);
      CHECK(max_abs_diff(theirs6.data(), fused6->run(crops[0].data(), arena6), 136) < 1e-4);
    }
    if (!have_opencv_python()) {
      MESSAGE("skipped OpenCV dnn: /usr/bin/python3 has no cv2 (Debian python3-opencv)");
      return;
    }
    write_floats(temp("cv_input.bin"), to_nchw(crops, 112));
    const std::string command = "/usr/bin/python3 '" + kTools + "/opencv_dnn_run.py' '" + path + "' '" + temp("cv_input.bin") +
                                "' 3 '" + temp("cv_out.bin") + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    const std::vector<float> theirs = read_floats(temp("cv_out.bin"));
    REQUIRE(theirs.size() == ours.size());
    CHECK(max_abs_diff(theirs.data(), ours.data(), ours.size()) < 1e-4);
  }

  TEST_CASE("int8 models export in QDQ form; onnxruntime runs the quantized network near pfld's int8") {
    const std::string weights = std::string(PFLD_TEST_FIXTURES_DIR) + "/../../weights/pfld-0.25x-68.pfld";
    const io::ModelFile float_file = io::ModelFile::load(weights);
    const model::PfldTensorLookup tensors = [&](const std::string& n) -> const Tensor& { return *float_file.find(n); };
    const auto crops = random_crops(6);
    std::vector<float> calibration;
    for (int i = 0; i < 4; ++i) calibration.insert(calibration.end(), crops[static_cast<std::size_t>(i)].begin(), crops[static_cast<std::size_t>(i)].end());
    const auto float_graph = build_inference_graph(float_file.config, tensors);
    const io::ModelFile int8_file =
        make_int8_model_file(float_file, quantize_network(float_file.config, tensors, calibrate_activations(*float_graph, calibration.data(), 4)));
    const io::OnnxModel m = io::export_onnx(int8_file, "int8");
    CHECK(m.opset == 13);
    std::map<std::string, int> ops;
    for (const auto& n : m.nodes) ++ops[n.op_type];
    const model::PfldArchitecture arch(float_file.config);
    CHECK(ops["Conv"] == static_cast<int>(arch.conv_units().size()));
    CHECK(ops["QuantizeLinear"] > static_cast<int>(arch.int8_units().size()));
    const std::string path = temp("export_int8.onnx");
    io::write_onnx(path, m);
    if (ort_module().empty()) {
      MESSAGE("skipped onnxruntime: set PFLD_ORT_DIR to a folder with node_modules/onnxruntime-node");
      return;
    }
    const std::vector<std::vector<float>> test{crops[4], crops[5]};
    const std::vector<float> theirs = run_onnxruntime(path, test, "landmarks");
    REQUIRE(theirs.size() == 2 * 136);
    int8_file.save(temp("export_int8.pfld"));
    const auto int8_graph = load_inference_graph(temp("export_int8.pfld"));
    InferenceArena qa = int8_graph->make_arena(), fa = float_graph->make_arena();
    double ort_vs_ours = 0.0, int8_vs_float = 0.0;
    for (std::size_t i = 0; i < test.size(); ++i) {
      const float* f = float_graph->run(test[i].data(), fa);
      const std::vector<float> want(f, f + 136);
      const float* q = int8_graph->run(test[i].data(), qa);
      for (std::size_t j = 0; j < 136; ++j) {
        ort_vs_ours += std::fabs(theirs[i * 136 + j] - q[j]) / 272;
        int8_vs_float += std::fabs(q[j] - want[j]) / 272;
      }
    }
    MESSAGE("0.25X int8, mean |difference| in crop units: onnxruntime's QDQ run against pfld's int8 " << ort_vs_ours
                                                                                                       << ", pfld's int8 against float " << int8_vs_float);
    CHECK(ort_vs_ours < 2.0 * int8_vs_float + 1e-3);
    CHECK(ort_vs_ours < 0.01);  // about a pixel of the 112-pixel crop
  }

  TEST_CASE("the third-party PFLD model: pfld matches onnxruntime on real faces, landmarks and pose features") {
    if (!std::filesystem::exists(kThirdParty)) {
      MESSAGE("skipped: ", kThirdParty, " is absent");
      return;
    }
    const auto net = load_onnx(kThirdParty);
    CHECK(net->landmark_count() == 98);
    CHECK(net->input_size() == 112);
    // Four real faces of 300w/val, cropped the standard way.
    const auto records = list_pts_folder(std::string(PFLD_TEST_DATA_DIR) + "/300w/val");
    std::vector<std::vector<float>> crops;
    for (std::size_t i = 0; i < 4; ++i) {
      const Image image = io::read_image(records[i * 30].image_path);
      std::vector<float> crop(112 * 112 * 3);
      CropTransform::from_box(bounding_box(records[i * 30].landmarks), 112, 1.2f).warp(image.view(), crop.data());
      crops.push_back(crop);
    }
    InferenceArena arena = net->make_arena();
    std::vector<float> landmarks, features;
    for (const auto& crop : crops) {
      std::copy(crop.begin(), crop.end(), net->input(arena));
      const float* out = net->run(arena);
      landmarks.insert(landmarks.end(), out, out + 196);
      GraphNet::Value shape;
      const float* f = net->output(arena, "headpose_feature", &shape);
      REQUIRE(shape.c == 16);
      for (int c = 0; c < shape.c; ++c)  // NHWC -> NCHW, as onnxruntime returns it
        for (int p = 0; p < shape.h * shape.w; ++p) features.push_back(f[static_cast<std::size_t>(p) * 16 + static_cast<std::size_t>(c)]);
      // Sanity without a second runtime: the points lie inside the crop.
      for (int k = 0; k < 196; ++k) CHECK((out[k] > -0.1f && out[k] < 1.1f));
    }
    if (ort_module().empty()) {
      MESSAGE("skipped the comparison with onnxruntime: set PFLD_ORT_DIR to a folder with node_modules/onnxruntime-node");
      return;
    }
    const std::vector<float> ort_landmarks = run_onnxruntime(kThirdParty, crops, "facial_landmark");
    const std::vector<float> ort_features = read_floats(temp("ort_out.headpose_feature.bin"));
    REQUIRE(ort_landmarks.size() == landmarks.size());
    REQUIRE(ort_features.size() == features.size());
    CHECK(max_abs_diff(ort_landmarks.data(), landmarks.data(), landmarks.size()) < 1e-4);
    CHECK(max_abs_diff(ort_features.data(), features.data(), features.size()) < 1e-4);
  }

  TEST_CASE("YuNet on pfld's kernels: all twelve outputs equal onnxruntime's within 1e-4 on a real photo") {
    // OpenCV Zoo's file (the shipped one) takes 640 x 640 in onnxruntime (its reshapes are constants), so
    // the photo is put on a black 640 x 640 canvas, top left, as YuNet::detect pads it; the dynamic-size
    // export of the same weights (its reshapes computed from Shape, folded by the importer) runs at the
    // photo's own size padded to a multiple of 32, 512 x 608.
    const std::string photo = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";
    if (ort_module().empty() || !std::filesystem::exists(photo)) {
      MESSAGE("skipped: needs onnxruntime (PFLD_ORT_DIR) and python-matplotlib-data");
      return;
    }
    const Image image = io::read_image(photo);
    struct Case {
      std::string model;
      int height, width;
    };
    const std::string dynamic = std::string(PFLD_TEST_DATA_DIR) + "/../models/yunet_s_dynamic.onnx";
    std::vector<Case> cases{{default_face_detector_path(), 640, 640}};
    if (std::filesystem::exists(dynamic)) cases.push_back({dynamic, 608, 512});
    else MESSAGE("skipped the dynamic-size file: ../shared/models is absent");
    for (const Case& c : cases) {
      CAPTURE(c.model);
      Image canvas(c.width, c.height);
      for (int y = 0; y < image.height; ++y)
        std::copy_n(image.pixels.data() + static_cast<std::size_t>(y) * image.width * 3, static_cast<std::size_t>(image.width) * 3,
                    canvas.pixels.data() + static_cast<std::size_t>(y) * c.width * 3);
      YuNet yunet = YuNet::load(c.model);
      REQUIRE(yunet.detect(canvas.view()).size() == 1);
      // The same input for onnxruntime: BGR, 0-255, NCHW.
      const std::size_t pixels = static_cast<std::size_t>(c.width) * c.height;
      std::vector<float> nchw(3 * pixels);
      for (std::size_t ch = 0; ch < 3; ++ch)
        for (std::size_t p = 0; p < pixels; ++p) nchw[ch * pixels + p] = canvas.pixels[p * 3 + 2 - ch];
      write_floats(temp("yunet_input.bin"), nchw);
      const std::string command = "node '" + kTools + "/onnxruntime_run.js' '" + ort_module() + "' '" + c.model + "' '" +
                                  temp("yunet_input.bin") + "' 1 3 " + std::to_string(c.height) + " " +
                                  std::to_string(c.width) + " '" + temp("yunet_out") + "'";
      REQUIRE(std::system(command.c_str()) == 0);
      for (int s : {8, 16, 32})
        for (const char* head : {"cls_", "obj_", "bbox_", "kps_"}) {
          const std::string name = head + std::to_string(s);
          CAPTURE(name);
          const std::vector<float> expected = read_floats(temp("yunet_out." + name + ".bin"));
          const std::size_t channels = head[0] == 'b' ? 4 : head[0] == 'k' ? 10 : 1;
          REQUIRE(expected.size() == static_cast<std::size_t>(c.height / s) * static_cast<std::size_t>(c.width / s) * channels);
          CHECK(max_abs_diff(yunet.raw_output(name), expected.data(), expected.size()) < 1e-4);
        }
      if (c.model != default_face_detector_path()) continue;
      // Its int8 form (the shipped ranges) in QDQ form: onnxruntime runs it on its own int8 kernels and
      // finds what pfld's int8 YuNet finds, near it (two int8 engines round differently).
      const std::string ranges_path = io::shipped_weights("face_detection_yunet_2023mar-int8.ranges");
      const auto ranges = std::make_shared<const ActivationRanges>(load_activation_ranges(ranges_path));
      const io::OnnxModel qdq = io::export_qdq_onnx(io::read_onnx(c.model), *ranges, c.model);
      std::map<std::string, int> ops;
      for (const io::OnnxNode& n : qdq.nodes) ++ops[n.op_type];
      MESSAGE("YuNet QDQ: ", ops["QuantizeLinear"], " QuantizeLinear, ", ops["DequantizeLinear"], " DequantizeLinear, ",
              ops["Conv"], " Conv");
      CHECK(ops["Conv"] == 53);
      CHECK(ops["QuantizeLinear"] > 30);
      io::write_onnx(temp("yunet_qdq.onnx"), qdq);
      YuNetOptions int8_options;
      int8_options.int8 = ranges;
      YuNet quantized = YuNet::load(c.model, int8_options);
      REQUIRE(quantized.detect(canvas.view()).size() == 1);
      const std::string int8_command = "node '" + kTools + "/onnxruntime_run.js' '" + ort_module() + "' '" +
                                       temp("yunet_qdq.onnx") + "' '" + temp("yunet_input.bin") + "' 1 3 640 640 '" +
                                       temp("yunet_qdq_out") + "'";
      REQUIRE(std::system(int8_command.c_str()) == 0);
      for (const std::string name : {"cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32"}) {
        CAPTURE(name);
        const std::vector<float> theirs = read_floats(temp("yunet_qdq_out." + name + ".bin"));
        const float* ours = quantized.raw_output(name);
        const int stride = std::stoi(name.substr(4));
        REQUIRE(theirs.size() == static_cast<std::size_t>(640 / stride) * static_cast<std::size_t>(640 / stride));
        // Where a score peaks clearly (the face), it peaks in the same cell for both engines; every score
        // is near the other engine's.
        const std::size_t best_theirs = static_cast<std::size_t>(std::max_element(theirs.begin(), theirs.end()) - theirs.begin());
        const std::size_t best_ours = static_cast<std::size_t>(std::max_element(ours, ours + theirs.size()) - ours);
        MESSAGE(name, ": onnxruntime int8 best ", theirs[best_theirs], " at ", best_theirs, ", pfld int8 ", ours[best_ours], " at ",
                best_ours, "; largest difference ", max_abs_diff(ours, theirs.data(), theirs.size()));
        if (theirs[best_theirs] > 0.5f) CHECK(best_theirs == best_ours);
        CHECK(max_abs_diff(ours, theirs.data(), theirs.size()) < 0.1);
      }
    }
  }

  TEST_CASE("shape arithmetic is folded at import; what cannot be folded is an Error") {
    // A reshape whose shape is computed from the tensor's own: Shape -> Gather(0) -> Unsqueeze -> Concat
    // with constants, as dynamic-size exports write it.
    io::OnnxModel m;
    m.inputs.push_back({"x", {1, 3, 16, 16}});
    auto node = [&](const char* op, std::vector<std::string> in, std::string out) {
      io::OnnxNode n;
      n.op_type = op;
      n.name = out;
      n.inputs = std::move(in);
      n.outputs = {std::move(out)};
      m.nodes.push_back(n);
      return &m.nodes.back();
    };
    auto ints = [&](const std::string& name, std::vector<std::int64_t> v, bool scalar = false) {
      io::OnnxTensor t;
      t.is_float = false;
      t.ints = std::move(v);
      if (!scalar) t.dims = {static_cast<std::int64_t>(t.ints.size())};
      m.initializers[name] = t;
    };
    io::OnnxTensor w;
    w.dims = {2, 3, 1, 1};
    w.floats = {1, 0, 0, 0, 1, 0};
    m.initializers["w"] = w;
    node("Conv", {"x", "w"}, "c");
    io::OnnxNode* t = node("Transpose", {"c"}, "t");
    io::OnnxAttribute perm;
    perm.name = "perm";
    perm.type = io::OnnxAttribute::ints_;
    perm.ints = {0, 2, 3, 1};
    t->attributes.push_back(perm);
    node("Shape", {"c"}, "s");
    ints("zero", {0}, true);
    node("Gather", {"s", "zero"}, "n");
    io::OnnxNode* u = node("Unsqueeze", {"n"}, "n1");
    io::OnnxAttribute axes;
    axes.name = "axes";
    axes.type = io::OnnxAttribute::ints_;
    axes.ints = {0};
    u->attributes.push_back(axes);
    ints("rest", {-1, 2});
    node("Concat", {"n1", "rest"}, "shape");
    node("Reshape", {"t", "shape"}, "y");
    m.outputs.push_back({"y", {}});
    const auto net = import_onnx_graph(m, {}, "folded.onnx");
    GraphNet::Value y;
    InferenceArena arena = net->make_arena();
    float* in = net->input(arena);
    for (int i = 0; i < 16 * 16 * 3; ++i) in[i] = static_cast<float>(i);
    net->run_graph(arena);
    const float* out = net->output(arena, "y", &y);
    REQUIRE(y.size() == 16 * 16 * 2);
    CHECK(out[2 * 37] == static_cast<float>(3 * 37));          // channel 0 is input channel 0
    CHECK(out[2 * 37 + 1] == static_cast<float>(3 * 37 + 1));  // channel 1 is input channel 1

    io::OnnxModel bad = m;
    bad.initializers["zero"].ints = {7};  // past the 4 dimensions
    CHECK_THROWS_WITH_AS(import_onnx_graph(bad, {}, "bad.onnx"), doctest::Contains("index 7 outside a list of 4"), Error);
    bad = m;
    bad.nodes[3].inputs[0] = "c";  // Gather from a tensor, not a constant
    CHECK_THROWS_WITH_AS(import_onnx_graph(bad, {}, "bad.onnx"), doctest::Contains("must be a constant"), Error);
  }

  TEST_CASE("Detector::load takes .onnx files") {
    auto net = trained_looking_network(0.25f, 68, Activation::relu);
    io::write_onnx(temp("detector.onnx"), export_net(*net));
    Detector from_onnx = Detector::load(temp("detector.onnx"));
    Detector native(build_inference_graph(*net));
    Image image(120, 100, PixelFormat::rgb);
    for (std::size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<std::uint8_t>(i * 7 % 251);
    const Landmarks a = from_onnx.detect(image.view(), Box{20, 15, 70, 75});
    const Landmarks b = native.detect(image.view(), Box{20, 15, 70, 75});
    REQUIRE(a.size() == 68);
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(std::abs(a[i].x - b[i].x) < 1e-3f);
  }
}

// Runs the third-party model on every face of 300-W: native builds only (see tests/run_all.sh).
TEST_SUITE("whole_300w") {
  TEST_CASE("the third-party WFLW model on 300-W: its 68 corresponding points, then a readout fitted on the training faces") {
    if (!std::filesystem::exists(kThirdParty)) {
      MESSAGE("skipped: ", kThirdParty, " is absent");
      return;
    }
    // Fitted on the training faces, scored on the validation faces.
    const std::string dir = std::string(PFLD_TEST_DATA_DIR) + "/300w/";
    const FaceSet fit_faces = load_faces(list_pts_folder(dir + "train"), io::read_image, {}, &default_thread_pool());
    const FaceSet val_faces = load_faces(list_pts_folder(dir + "val"), io::read_image, {}, &default_thread_pool());
    const eval::EvalCrops val_crops = eval::make_eval_crops(val_faces);
    const std::shared_ptr<const LandmarkModel> wflw = load_onnx(kThirdParty);
    const double picked = eval::evaluate(eval::predict(*remap_landmarks(wflw, 68), val_crops), val_faces).summary.mean_nme;
    train::ReadoutFitOptions standard_crops;
    standard_crops.draws = 0;
    const auto readout = train::fit_linear_readout(wflw, fit_faces, standard_crops);
    const double fitted = eval::evaluate(eval::predict(*readout, val_crops), val_faces).summary.mean_nme;
    MESSAGE("WFLW model on 300-W val: corresponding points ", 100 * picked, " %, readout ", 100 * fitted, " %");
    CHECK(picked > 0.05);   // the schemes differ (5.49 % measured): the readout has something to fix
    CHECK(fitted < 0.040);  // 3.93 % measured
  }
}
