// Writes the binary seed files of the fuzz corpora (corpus/<target>/) and the binary regression inputs
// (regressions/<target>/: one small file per kind of hostile file a reader once failed on), from the
// library itself, so that they follow the formats as this version writes them. Run by hand after a
// format change:
//   c++ -std=c++17 -O1 -I include tests/fuzz/make_seeds.cpp -o /tmp/make_seeds && /tmp/make_seeds tests/fuzz
// The text files (.pts, WFLW, cascade XML) and the images are committed as written.
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include <pfld/infer/pfld_graph.hpp>
#include <pfld/io/onnx_export.hpp>
#include <pfld/train/checkpoint.hpp>
#include <pfld/train/trainer.hpp>

#include "seed_config.hpp"

namespace {

// Small ONNX graphs built by hand: initializers with a ramp of values, attributes by type.
struct GraphMaker {
  pfld::io::OnnxModel m;

  GraphMaker(pfld::io::OnnxValue input, pfld::io::OnnxValue output) {
    m.ir_version = 7;
    m.opset = 11;
    m.inputs.push_back(std::move(input));
    m.outputs.push_back(std::move(output));
  }
  void floats(const std::string& name, std::vector<std::int64_t> dims, float value) {
    pfld::io::OnnxTensor t;
    t.dims = std::move(dims);
    t.floats.assign(t.count(), value);
    for (std::size_t i = 0; i < t.floats.size(); ++i) t.floats[i] += 0.01f * static_cast<float>(i % 7);
    m.initializers[name] = t;
  }
  void node(const std::string& name, const std::string& op, std::vector<std::string> inputs, std::string output,
            std::vector<pfld::io::OnnxAttribute> attributes = {}) {
    m.nodes.push_back({name, op, "", std::move(inputs), {std::move(output)}, std::move(attributes)});
  }
  static pfld::io::OnnxAttribute ints(const std::string& name, std::vector<std::int64_t> v) {
    pfld::io::OnnxAttribute a;
    a.name = name;
    a.type = pfld::io::OnnxAttribute::ints_;
    a.ints = std::move(v);
    return a;
  }
  static pfld::io::OnnxAttribute integer(const std::string& name, std::int64_t v) {
    pfld::io::OnnxAttribute a;
    a.name = name;
    a.type = pfld::io::OnnxAttribute::int_;
    a.i = v;
    return a;
  }
  static pfld::io::OnnxAttribute text(const std::string& name, std::string v) {
    pfld::io::OnnxAttribute a;
    a.name = name;
    a.type = pfld::io::OnnxAttribute::string_;
    a.s = std::move(v);
    return a;
  }
};

// A graph of every op the general ONNX import takes, none of them PFLD's layout: padded 3x3 conv +
// batch norm + relu, depthwise conv + clip, max pool, average pool, a residual add, concat, global
// average pool, flatten, gemm.
pfld::io::OnnxModel small_graph() {
  using G = GraphMaker;
  G g({"image", {1, 3, 16, 16}}, {"points", {1, 4}});
  g.floats("w1", {4, 3, 3, 3}, 0.1f);
  g.floats("b1", {4}, 0.0f);
  for (const char* n : {"g", "beta", "mean", "var"}) g.floats(n, {4}, 1.0f);
  g.floats("w2", {4, 1, 3, 3}, 0.2f);
  g.floats("lo", {}, 0.0f);
  g.floats("hi", {}, 6.0f);
  g.floats("fc", {8, 4}, 0.3f);
  g.floats("fcb", {4}, 0.5f);
  g.node("conv1", "Conv", {"image", "w1", "b1"}, "c1",
         {G::ints("kernel_shape", {3, 3}), G::ints("pads", {1, 1, 1, 1}), G::ints("strides", {1, 1})});
  g.node("bn1", "BatchNormalization", {"c1", "g", "beta", "mean", "var"}, "n1");
  g.node("relu1", "Relu", {"n1"}, "r1");
  g.node("dw", "Conv", {"r1", "w2"}, "c2", {G::ints("kernel_shape", {3, 3}), G::ints("pads", {1, 1, 1, 1}), G::integer("group", 4)});
  g.node("clip", "Clip", {"c2", "lo", "hi"}, "k2");
  g.node("add", "Add", {"k2", "r1"}, "a2");
  g.node("max", "MaxPool", {"a2"}, "m2", {G::ints("kernel_shape", {2, 2}), G::ints("strides", {2, 2})});
  g.node("avg", "AveragePool", {"a2"}, "v2", {G::ints("kernel_shape", {2, 2}), G::ints("strides", {2, 2})});
  g.node("cat", "Concat", {"m2", "v2"}, "cat", {G::integer("axis", 1)});
  g.node("gap", "GlobalAveragePool", {"cat"}, "gap");
  g.node("flat", "Flatten", {"gap"}, "flat", {G::integer("axis", 1)});
  g.node("fc", "Gemm", {"flat", "fc", "fcb"}, "points");
  return g.m;
}

// A detector's ops (as YuNet has them): conv + relu, max pool, nearest x2 resize, add, two heads (a 1x1
// then a depthwise conv each: merged at import), then transpose to channels-last, reshape to
// [1, positions, channels] with the shape computed as dynamic-size exports compute it (Shape, Gather,
// Unsqueeze, Concat: folded at import) and sigmoid.
pfld::io::OnnxModel small_detector() {
  using G = GraphMaker;
  G g({"input", {1, 3, 32, 32}}, {"cls_8", {1, -1, 1}});
  g.m.outputs.push_back({"bbox_8", {1, -1, 4}});
  g.floats("w", {4, 3, 3, 3}, 0.05f);
  g.floats("b", {4}, 0.1f);
  g.floats("head", {1, 4, 1, 1}, 0.2f);
  g.floats("head_dw", {1, 1, 3, 3}, 0.1f);
  g.floats("box", {4, 4, 1, 1}, 0.2f);
  g.floats("box_dw", {4, 1, 3, 3}, 0.1f);
  g.floats("roi", {0}, 0.0f);
  g.floats("scales", {4}, 1.0f);
  g.m.initializers["scales"].floats = {1.0f, 1.0f, 2.0f, 2.0f};
  auto ints = [&](const char* name, std::vector<std::int64_t> v, bool scalar = false) {
    pfld::io::OnnxTensor t;
    t.is_float = false;
    t.ints = std::move(v);
    if (!scalar) t.dims = {static_cast<std::int64_t>(t.ints.size())};
    g.m.initializers[name] = t;
  };
  ints("shape", {1, -1, 1});
  ints("zero", {0}, true);
  ints("rest", {-1, 4});
  g.node("conv", "Conv", {"input", "w", "b"}, "c",
         {G::ints("kernel_shape", {3, 3}), G::ints("pads", {1, 1, 1, 1}), G::ints("strides", {2, 2})});
  g.node("relu", "Relu", {"c"}, "r");
  g.node("pool", "MaxPool", {"r"}, "p", {G::ints("kernel_shape", {2, 2}), G::ints("strides", {2, 2})});
  g.node("up", "Resize", {"p", "roi", "scales"}, "u",
         {G::text("mode", "nearest"), G::text("coordinate_transformation_mode", "asymmetric"), G::text("nearest_mode", "floor")});
  g.node("sum", "Add", {"u", "r"}, "s");
  g.node("head", "Conv", {"s", "head"}, "h1", {G::ints("kernel_shape", {1, 1})});
  g.node("head_dw", "Conv", {"h1", "head_dw"}, "h", {G::ints("pads", {1, 1, 1, 1}), G::integer("group", 1)});
  g.node("box", "Conv", {"s", "box"}, "b1", {G::ints("kernel_shape", {1, 1})});
  g.node("box_dw", "Conv", {"b1", "box_dw"}, "bx", {G::ints("pads", {1, 1, 1, 1}), G::integer("group", 4)});
  g.node("nhwc", "Transpose", {"h"}, "t", {G::ints("perm", {0, 2, 3, 1})});
  g.node("flat", "Reshape", {"t", "shape"}, "f");
  g.node("score", "Sigmoid", {"f"}, "cls_8");
  g.node("box_nhwc", "Transpose", {"bx"}, "bt", {G::ints("perm", {0, 2, 3, 1})});
  g.node("box_shape", "Shape", {"bx"}, "bs");
  g.node("batch", "Gather", {"bs", "zero"}, "n", {G::integer("axis", 0)});
  g.node("batch1", "Unsqueeze", {"n"}, "n1", {G::ints("axes", {0})});
  g.node("box_to", "Concat", {"n1", "rest"}, "bshape", {G::integer("axis", 0)});
  g.node("box_flat", "Reshape", {"bt", "bshape"}, "bbox_8");
  return g.m;
}

void write(const std::string& path, const std::vector<unsigned char>& bytes);

// A pfld model file holding one tensor "fc.bias" of the given dimensions and `floats` zeros of data (the
// fuzz targets recompute the checksum, and so does this).
std::vector<unsigned char> model_file_claiming(const std::vector<std::uint32_t>& dims, const pfld::ModelConfig& config,
                                               std::size_t floats = 0) {
  std::vector<unsigned char> out;
  auto u32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<unsigned char>(v >> (8 * i)));
  };
  for (char c : std::string("PFLDMODL")) out.push_back(static_cast<unsigned char>(c));
  u32(1), u32(1);
  std::uint32_t width;
  std::memcpy(&width, &config.width, 4);
  u32(width), u32(static_cast<std::uint32_t>(config.landmarks)), u32(112), u32(0);
  u32(0);  // no metadata
  u32(1);  // one tensor
  u32(7);
  for (char c : std::string("fc.bias")) out.push_back(static_cast<unsigned char>(c));
  u32(static_cast<std::uint32_t>(dims.size()));
  for (std::uint32_t d : dims) u32(d);
  out.insert(out.end(), 4 * floats, 0);
  u32(pfld::io::crc32(out.data(), out.size()));
  return out;
}

// The kinds of hostile binary file the readers once failed on, one small file each.
void write_regressions(const std::string& dir) {
  // 2^24 x 2^24 x 2^14 floats: 2^64 bytes, 0 in a size_t, which once passed the length check and led to
  // a write past the end of a 0-byte buffer.
  write(dir + "/model_file/shape_product_wraps.pfld", model_file_claiming({1u << 24, 1u << 24, 1u << 14}, {}));
  // The widest network (width 8: 600 MB of parameters and gradients, built before any tensor was
  // checked) asked for by a 600-byte file.
  pfld::ModelConfig wide;
  wide.width = 8.0f;
  write(dir + "/model_file/huge_network_small_file.pfld", model_file_claiming({136}, wide, 136));

  pfld::io::ModelFile checkpoint;
  checkpoint.kind = pfld::io::ModelFile::Kind::checkpoint;
  checkpoint.config = fuzz::seed_config();
  checkpoint.metadata = {{"epoch", "3x"}, {"step", "4294967298"}, {"optimizer", "adamw"}, {"optimizer.steps", "9"}};
  write(dir + "/checkpoint/integers_with_junk.ckpt", checkpoint.serialize());

  // ONNX: each a small graph with one thing wrong.
  using pfld::io::OnnxAttribute;
  // Those that failed ONNX -> .pfld too (before it found the graph is not PFLD's) go to both targets.
  auto damaged = [&](const std::string& name, const std::function<void(pfld::io::OnnxModel&)>& damage,
                     bool to_pfld_too = false) {
    pfld::io::OnnxModel m = small_graph();
    damage(m);
    const std::vector<unsigned char> bytes = pfld::io::serialize_onnx(m);
    write(dir + "/onnx/" + name + ".onnx", bytes);
    if (to_pfld_too) write(dir + "/onnx_to_pfld/" + name + ".onnx", bytes);
  };
  auto attribute = [](pfld::io::OnnxModel& m, const std::string& node, const std::string& name) -> OnnxAttribute& {
    for (auto& n : m.nodes)
      if (n.name == node)
        for (auto& a : n.attributes)
          if (a.name == name) return a;
    std::fprintf(stderr, "make_seeds: no attribute %s of %s\n", name.c_str(), node.c_str());
    std::exit(1);
  };
  damaged("pads_of_two_values", [&](auto& m) { attribute(m, "conv1", "pads").ints = {1, 1}; });
  damaged("zero_stride", [&](auto& m) { attribute(m, "conv1", "strides").ints = {0, 0}; });
  damaged("huge_pads", [&](auto& m) { attribute(m, "conv1", "pads").ints = {1LL << 31, 1LL << 31, 1LL << 31, 1LL << 31}; });
  damaged("pool_kernel_0x0", [&](auto& m) {
    attribute(m, "max", "kernel_shape").ints = {0, 0};
    attribute(m, "avg", "kernel_shape").ints = {0, 0};
  });
  damaged("pool_kernel_negative", [&](auto& m) {
    attribute(m, "max", "kernel_shape").ints = {-2, -2};
    attribute(m, "avg", "kernel_shape").ints = {-2, -2};
  });
  damaged("node_without_output", [&](auto& m) { m.nodes[3].outputs.clear(); }, true);
  damaged("concat_without_inputs", [&](auto& m) { m.nodes[8].inputs.clear(); });
  damaged("zero_output_channels", [&](auto& m) {
    m.initializers["w1"].dims = {0, 3, 3, 3};
    m.initializers["w1"].floats.clear();
  }, true);
  damaged("empty_bias", [&](auto& m) {
    m.initializers["b1"].dims = {0};
    m.initializers["b1"].floats.clear();
  }, true);
  damaged("integer_weights", [&](auto& m) {
    pfld::io::OnnxTensor& w = m.initializers["fc"];
    w.is_float = false;
    w.ints.assign(w.floats.size(), 1);
    w.floats.clear();
  });
  damaged("input_16384", [&](auto& m) { m.inputs[0].shape = {1, 3, 16384, 16384}; });
  damaged("input_2_pow_32_plus_16", [&](auto& m) { m.inputs[0].shape = {1, 3, (1LL << 32) + 16, (1LL << 32) + 16}; });
  damaged("group_as_float", [&](auto& m) { attribute(m, "dw", "group").type = OnnxAttribute::float_; });
}

void write(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds FUZZ_DIR\n");
    return 2;
  }
  const std::string dir = std::string(argv[1]) + "/corpus";
  write_regressions(std::string(argv[1]) + "/regressions");
  pfld::Rng rng(7);
  pfld::model::PfldNet net(fuzz::seed_config());
  pfld::model::AuxNet aux(fuzz::seed_config());
  net.reset_parameters(rng);
  aux.reset_parameters(rng);

  const std::string weights = dir + "/model_file/narrow.pfld";
  pfld::train::save_weights(weights, net);
  std::printf("%s written\n", weights.c_str());

  // The same network in int8 (format version 2, weights stored as bytes), calibrated on two grey crops.
  {
    const pfld::model::PfldTensorLookup tensors = pfld::model::tensors_of(net);
    const auto graph = pfld::build_inference_graph(net.config(), tensors);
    std::vector<float> crops(2 * 112 * 112 * 3, 0.5f);
    std::fill(crops.begin() + 112 * 112 * 3, crops.end(), 0.25f);
    const pfld::Int8Network q = pfld::quantize_network(net.config(), tensors, pfld::calibrate_activations(*graph, crops.data(), 2));
    write(dir + "/model_file/narrow_int8.pfld", pfld::make_int8_model_file(pfld::io::ModelFile::load(weights), q).serialize());
  }

  pfld::io::ModelFile header_only;  // a well-formed file with a few small tensors: the parser's own paths
  header_only.metadata["note"] = "seed";
  header_only.tensors.emplace_back("fc.bias", pfld::Tensor(pfld::Shape{2}));
  header_only.tensors.emplace_back("conv1.conv.weight", pfld::Tensor(pfld::Shape{1, 3, 3, 3}));
  write(dir + "/model_file/small.pfld", header_only.serialize());
  pfld::io::ModelFile with_bytes = header_only;  // version 2: a tensor stored as signed bytes
  with_bytes.metadata["quantization"] = "int8";
  with_bytes.tensors.emplace_back("conv2.int8.weight", pfld::Tensor(pfld::Shape{4}));
  with_bytes.byte_tensors.insert("conv2.int8.weight");
  write(dir + "/model_file/small_int8.pfld", with_bytes.serialize());
  header_only.kind = pfld::io::ModelFile::Kind::checkpoint;
  write(dir + "/checkpoint/small.ckpt", header_only.serialize());

  pfld::train::Adam adam;
  pfld::train::Trainer trainer(net, aux, pfld::model::PfldLoss(), adam, pfld::train::LrSchedule{});
  pfld::train::TrainingProgress progress;
  progress.epoch = 3;
  progress.step = 30;
  // A real checkpoint's header and metadata without its tensors (which are megabytes of floats that
  // the model_file target already covers): every check of a checkpoint's own fields.
  const std::string checkpoint = "/tmp/pfld_seed.ckpt";
  pfld::train::save_checkpoint(checkpoint, net, aux, adam, trainer.parameters(), progress);
  pfld::io::ModelFile without_tensors = pfld::io::ModelFile::load(checkpoint);
  std::remove(checkpoint.c_str());
  without_tensors.tensors.clear();
  write(dir + "/checkpoint/metadata.ckpt", without_tensors.serialize());

  const std::vector<unsigned char> pfld_onnx = pfld::io::serialize_onnx(pfld::io::export_onnx(net.config(), pfld::model::tensors_of(net)));
  write(dir + "/onnx/narrow_pfld.onnx", pfld_onnx);
  write(dir + "/onnx_to_pfld/narrow_pfld.onnx", pfld_onnx);
  write(dir + "/onnx/small_detector.onnx", pfld::io::serialize_onnx(small_detector()));
  const std::vector<unsigned char> graph = pfld::io::serialize_onnx(small_graph());
  write(dir + "/onnx/small_graph.onnx", graph);
  write(dir + "/onnx_to_pfld/small_graph.onnx", graph);
  return 0;
}
