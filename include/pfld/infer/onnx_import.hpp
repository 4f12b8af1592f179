// ONNX models onto pfld's fused kernels (PFLD landmark models, the YuNet face detector): Conv (dense,
// 1x1, depthwise) with a following BatchNormalization folded in, Relu / Clip and a residual Add fused
// into its epilogue; Add, Relu, Clip, Sigmoid, GlobalAveragePool, AveragePool, MaxPool, Resize (nearest,
// whole factors), Concat, Flatten / Reshape, Transpose to channels-last, Gemm / MatMul, Identity /
// Dropout, and Pad folded into the convolution it feeds. Anything else is an Error naming the node and
// its op. Every node is checked against onnx_schema.hpp first.
//
//   auto net = pfld::load_onnx("model.onnx");               // input [1, 3, S, S], RGB in [0, 1]
//   pfld::Detector detector(net);
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "../io/onnx_model.hpp"
#include "../model/architecture.hpp"
#include "fold.hpp"
#include "graph_net.hpp"
#include "int8_calibration.hpp"
#include "onnx_schema.hpp"
#include "weight_layout.hpp"

namespace pfld {
inline namespace infer {

struct OnnxImportOptions {
  Isa isa = active_isa();
  // The network's input = crop (RGB in [0, 1]) * input_scale + input_shift, per channel: {255, 255, 255}
  // for a model fed 0..255, shift = -mean / std and scale = 1 / std for a normalised one.
  std::array<float, 3> input_scale{1.0f, 1.0f, 1.0f};
  std::array<float, 3> input_shift{0.0f, 0.0f, 0.0f};
  // The graph output holding the landmarks (x, y pairs); empty: the first vector output of even size.
  std::string landmark_output;
  // Multiplies the landmark output into crop units ([0, 1] across the crop): 1 / S for crop pixels.
  float landmark_scale = 1.0f;
  // The largest input side accepted, and the most memory one run's activations may take: a file that
  // asks for more is refused at load, before anything is allocated.
  int max_input_size = 4096;
  std::size_t max_arena_bytes = std::size_t{1} << 30;
  // int8 (may be null: float): the calibrated ranges of the graph's tensors by ONNX name
  // (calibrate_activations on the float import, whose tensors carry those names). Every convolution
  // that runs in int8 (dense, or 3x3 depthwise) and has ranges for its input and output then does, with
  // max pools and Adds between such layers on bytes (a detector's feature pyramid); the rest stays
  // float, its inputs dequantized where it reads bytes. Must outlive the import only.
  const ActivationRanges* int8 = nullptr;
};

namespace detail_onnx_import {

inline const io::OnnxTensor& initializer(const io::OnnxModel& m, const io::OnnxNode& n, std::size_t input,
                                         const std::string& source) {
  detail::require(input < n.inputs.size() && !n.inputs[input].empty(), source, ": ", n.describe(), " lacks input ", input);
  const auto it = m.initializers.find(n.inputs[input]);
  detail::require(it != m.initializers.end(), source, ": ", n.describe(), ": input '", n.inputs[input],
                  "' must be a constant (initializer) for pfld");
  return it->second;
}

// A float initializer of exactly `count` values (any count when count is 0).
inline const std::vector<float>& float_initializer(const io::OnnxModel& m, const io::OnnxNode& n, std::size_t input,
                                                   std::size_t count, const std::string& source) {
  const io::OnnxTensor& t = initializer(m, n, input, source);
  detail::require(t.is_float, source, ": ", n.describe(), ": input ", input, " is not a float tensor");
  detail::require(count == 0 || t.floats.size() == count, source, ": ", n.describe(), ": input ", input, " holds ",
                  t.floats.size(), " values, not ", count);
  return t.floats;
}

// A weight tensor's dimensions: `rank` of them, each in [1, 2^16] (and a spatial one in [1, 255]).
inline std::vector<int> weight_dims(const io::OnnxTensor& w, std::size_t rank, const io::OnnxNode& n,
                                    const std::string& source) {
  detail::require(w.is_float && w.dims.size() == rank, source, ": ", n.describe(), ": weights are not a ", rank,
                  "-D float tensor");
  std::vector<int> dims;
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t limit = rank == 4 && i >= 2 ? detail_onnx_schema::kMaxSpatial : std::int64_t{1} << 16;
    detail::require(w.dims[i] >= 1 && w.dims[i] <= limit, source, ": ", n.describe(), ": weight dimension ", w.dims[i],
                    " outside [1, ", limit, "]");
    dims.push_back(static_cast<int>(w.dims[i]));
  }
  return dims;
}

// Folds a BatchNormalization into the convolution before it (fold_batch_norm).
inline void fold_batch_norm(const io::OnnxModel& m, const io::OnnxNode& bn, std::vector<float>& weights,
                            std::vector<float>& bias, const std::string& source) {
  const std::size_t out = bias.size();
  const std::vector<float>& gamma = float_initializer(m, bn, 1, out, source);
  const std::vector<float>& beta = float_initializer(m, bn, 2, out, source);
  const std::vector<float>& mean = float_initializer(m, bn, 3, out, source);
  const std::vector<float>& var = float_initializer(m, bn, 4, out, source);
  pfld::fold_batch_norm(weights, bias, gamma.data(), beta.data(), mean.data(), var.data(), bn.attr_float("epsilon", 1e-5f),
                        source + ": " + bn.describe());
}

inline Clamp clamp_of_node(const io::OnnxModel& m, const io::OnnxNode& n, const std::string& source) {
  if (n.op_type == "Relu") return {0.0f, std::numeric_limits<float>::infinity()};
  Clamp c;
  if (m.opset < 11 || n.inputs.size() < 2) {
    c.lo = n.attr_float("min", -std::numeric_limits<float>::infinity());
    c.hi = n.attr_float("max", std::numeric_limits<float>::infinity());
  }
  for (std::size_t k = 1; k < n.inputs.size() && k < 3; ++k) {
    if (n.inputs[k].empty()) continue;
    const std::vector<float>& t = float_initializer(m, n, k, 1, source);
    detail::require(!std::isnan(t[0]), source, ": ", n.describe(), ": a clip bound is not a number");
    (k == 1 ? c.lo : c.hi) = t[0];
  }
  return c;
}

}  // namespace detail_onnx_import

namespace detail_onnx_import {

// import_onnx_graph before GraphNet::finish.
inline std::shared_ptr<GraphNet> build_graph(const io::OnnxModel& m, const OnnxImportOptions& options,
                                             const std::string& source, int input_height, int input_width) {
  for (const io::OnnxNode& n : m.nodes) validate_onnx_node(n, source);
  auto net = std::make_shared<GraphNet>(options.isa, options.max_arena_bytes);
  detail::require(m.inputs.size() == 1, source, ": the graph has ", m.inputs.size(), " inputs; pfld takes one image");
  const io::OnnxValue& in = m.inputs[0];
  detail::require(in.shape.size() == 4 && in.shape[1] == 3, source, ": input '", in.name, "' is not [N, 3, H, W]");
  const std::int64_t height = input_height > 0 ? input_height : in.shape[2];
  const std::int64_t width = input_width > 0 ? input_width : in.shape[3];
  for (std::int64_t side : {height, width})
    detail::require(side >= 8 && side <= options.max_input_size, source, ": input side ", side, " outside [8, ",
                    options.max_input_size, "] (OnnxImportOptions::max_input_size)");
  std::map<std::string, GraphNet::Value> values;
  values[in.name] = net->set_input(static_cast<int>(height), static_cast<int>(width), options.input_scale.data(),
                                   options.input_shift.data());
  // Tensors whose ONNX order is the arena's (NHWC) order: Transpose(0, 2, 3, 1) outputs and what is
  // reshaped from them. Every other 4-D tensor is NCHW to ONNX and NHWC in the arena.
  std::set<std::string> channels_last;

  // Who reads each tensor (graph outputs count as readers): a node is fused into its producer only
  // when the producer's output has no other reader.
  std::map<std::string, std::vector<std::size_t>> readers;
  std::set<std::string> graph_outputs;
  for (std::size_t i = 0; i < m.nodes.size(); ++i)
    for (const std::string& name : m.nodes[i].inputs) readers[name].push_back(i);
  for (const auto& o : m.outputs) graph_outputs.insert(o.name);
  auto sole_reader = [&](const std::string& name) -> const io::OnnxNode* {
    const auto it = readers.find(name);
    if (graph_outputs.count(name) || it == readers.end() || it->second.size() != 1) return nullptr;
    return &m.nodes[it->second[0]];
  };
  // A tensor is a float value, a byte value (int8 layers: `bytes`), or both once one was converted.
  std::map<std::string, GraphNet::Value> bytes;
  auto computed = [&](const io::OnnxNode& n, std::size_t k) -> const std::string& {
    detail::require(k < n.inputs.size(), source, ": ", n.describe(), " lacks input ", k);
    const std::string& name = n.inputs[k];
    detail::require(values.count(name) || bytes.count(name), source, ": ", n.describe(), ": input '", name,
                    "' is not computed before it (constant where a tensor is expected, or nodes out of order)");
    return name;
  };
  // The floats of a computed tensor (dequantized once, when its layer left bytes).
  auto float_of = [&](const std::string& name) -> const GraphNet::Value& {
    if (const auto it = values.find(name); it != values.end()) return it->second;
    return values[name] = net->add_dequantize(bytes.at(name));
  };
  auto value = [&](const io::OnnxNode& n, std::size_t k) -> const GraphNet::Value& { return float_of(computed(n, k)); };
  // Its shape, without converting it.
  auto shape_of = [&](const io::OnnxNode& n, std::size_t k) -> GraphNet::Value {
    const std::string& name = computed(n, k);
    const auto it = values.find(name);
    return it != values.end() ? it->second : bytes.at(name);
  };
  const ActivationRanges* const int8 = options.int8;
  auto calibrated = [&](const std::string& name) { return int8 && int8->ranges.count(name) > 0; };
  // Its bytes (quantized once, under its calibrated range), or null: no range for it, or float only
  // (a view: concatenated or sliced channels).
  auto bytes_of = [&](const std::string& name) -> const GraphNet::Value* {
    if (const auto it = bytes.find(name); it != bytes.end()) return &it->second;
    const auto it = values.find(name);
    if (!calibrated(name) || it == values.end()) return nullptr;
    return &(bytes[name] = net->add_quantize(it->second, int8->quant_params(name)));
  };
  std::map<std::string, std::array<int, 4>> padded;  // Pad outputs: (top, left, bottom, right) to add to a conv
  std::set<const io::OnnxNode*> fused;
  // Resize outputs that only an Add reads: the Add upsamples them as it adds (add_add_upsampled).
  struct Upsampled {
    std::string low;  // the tensor upsampled
    int fh = 1, fw = 1;
  };
  std::map<std::string, Upsampled> upsampled;
  // Integer tensors computed from shapes (Shape, Gather, Unsqueeze, Concat of constants), known at
  // import: a graph exported with a dynamic input size computes its reshapes that way.
  std::map<std::string, io::OnnxTensor> folded;
  std::set<std::string> flat;  // [N, features] tensors (their Shape has two dimensions)
  // Input k of n as a constant: a folded one or an initializer.
  auto constant = [&](const io::OnnxNode& n, std::size_t k) -> const io::OnnxTensor& {
    if (k < n.inputs.size())
      if (const auto it = folded.find(n.inputs[k]); it != folded.end()) return it->second;
    return initializer(m, n, k, source);
  };
  auto is_constant = [&](const std::string& name) { return folded.count(name) || m.initializers.count(name); };
  auto integers = [&](const io::OnnxNode& n, std::size_t k) -> const io::OnnxTensor& {
    const io::OnnxTensor& t = constant(n, k);
    detail::require(!t.is_float && t.dims.size() <= 1 && t.ints.size() == t.count() && t.ints.size() <= 8, source,
                    ": ", n.describe(), ": input ", k, " is not a scalar or list of at most 8 integers");
    return t;
  };

  // A Conv node's geometry over an input of `x`'s size and channels, every attribute checked (kernel
  // shape against the weights, no auto_pad or dilation, symmetric padding once a Pad folded into it
  // adds its own); weights OIHW.
  auto conv_geometry = [&](const io::OnnxNode& n, const GraphNet::Value& x) {
    const std::vector<int> dims = weight_dims(initializer(m, n, 1, source), 4, n, source);
    const int out_c = dims[0], in_per_group = dims[1], kh = dims[2], kw = dims[3];
    const int groups = static_cast<int>(n.attr_int("group", 1));
    const std::vector<std::int64_t> kernel = n.attr_ints("kernel_shape"), strides = n.attr_ints("strides"),
                                    dilations = n.attr_ints("dilations");
    detail::require(kernel.empty() || (kernel[0] == kh && kernel[1] == kw), source, ": ", n.describe(),
                    ": kernel_shape differs from the weights' ", kh, "x", kw);
    std::vector<std::int64_t> pads = n.attr_ints("pads");
    if (pads.empty()) pads = {0, 0, 0, 0};
    const io::OnnxAttribute* auto_pad = n.attribute("auto_pad");
    detail::require(!auto_pad || auto_pad->s.empty() || auto_pad->s == "NOTSET", source, ": ", n.describe(),
                    ": auto_pad ", auto_pad ? auto_pad->s : "", " is not supported");
    for (std::int64_t d : dilations) detail::require(d == 1, source, ": ", n.describe(), ": dilation ", d, " is not supported");
    std::array<int, 4> extra{0, 0, 0, 0};
    if (const auto p = padded.find(n.inputs[0]); p != padded.end()) extra = p->second;
    const int top = static_cast<int>(pads[0]) + extra[0], left = static_cast<int>(pads[1]) + extra[1];
    const int bottom = static_cast<int>(pads[2]) + extra[2], right = static_cast<int>(pads[3]) + extra[3];
    detail::require(top == bottom && left == right, source, ": ", n.describe(), ": asymmetric padding is not supported");
    ConvGeometry g;
    g.in_c = x.c;
    g.out_c = out_c;
    g.kernel_h = kh, g.kernel_w = kw;
    g.stride_h = strides.empty() ? 1 : static_cast<int>(strides[0]);
    g.stride_w = strides.empty() ? 1 : static_cast<int>(strides[1]);
    g.pad_h = top, g.pad_w = left;
    g.groups = groups;
    detail::require(x.c % groups == 0 && x.c / groups == in_per_group && out_c % groups == 0, source, ": ",
                    n.describe(), ": weights for ", in_per_group, " x ", groups, " input channels, the input has ", x.c);
    return g;
  };

  // A MaxPool of 2x2 windows at stride 2 without padding whose indices output is unused.
  auto is_max_pool_2x2 = [](const io::OnnxNode& n) {
    const std::vector<std::int64_t> k = n.attr_ints("kernel_shape"), s = n.attr_ints("strides"), p = n.attr_ints("pads");
    const io::OnnxAttribute* auto_pad = n.attribute("auto_pad");
    return n.op_type == "MaxPool" && k == std::vector<std::int64_t>{2, 2} && s == std::vector<std::int64_t>{2, 2} &&
           (p.empty() || p == std::vector<std::int64_t>{0, 0, 0, 0}) && n.attr_int("ceil_mode", 0) == 0 &&
           n.attr_int("storage_order", 0) == 0 && n.attr_ints("dilations").empty() &&
           (!auto_pad || auto_pad->s.empty() || auto_pad->s == "NOTSET") &&
           (n.outputs.size() == 1 || (n.outputs.size() > 1 && n.outputs[1].empty()));
  };

  // Detector heads: several 1x1 convolutions of one tensor, each followed by a depthwise convolution
  // and nothing fused after it (YuNet's four heads at each scale: 1, 4, 1 and 10 channels). Each alone
  // fills a vector of output channels with a few, so they run as one 1x1 convolution and one depthwise
  // convolution over all their channels, whose result is then split by channel.
  struct Head {
    const io::OnnxNode* pointwise;
    const io::OnnxNode* depthwise;
  };
  std::map<std::string, std::vector<Head>> heads;  // by the tensor they read
  std::set<std::string> pad_outputs;  // (a Pad is folded into the Conv it feeds: not into a group)
  for (const io::OnnxNode& n : m.nodes)
    if (n.op_type == "Pad") pad_outputs.insert(n.outputs[0]);
  for (const io::OnnxNode& n : m.nodes) {
    auto ints_or = [](const io::OnnxNode& node, const char* name, std::vector<std::int64_t> fallback) {
      std::vector<std::int64_t> v = node.attr_ints(name);
      return v.empty() ? fallback : v;
    };
    if (n.op_type != "Conv" || n.inputs.size() < 2 || !m.initializers.count(n.inputs[1]) || pad_outputs.count(n.inputs[0]))
      continue;
    const io::OnnxTensor& w = m.initializers.at(n.inputs[1]);
    if (w.dims.size() != 4 || w.dims[2] != 1 || w.dims[3] != 1 || n.attr_int("group", 1) != 1 ||
        ints_or(n, "strides", {1, 1}) != std::vector<std::int64_t>{1, 1} ||
        ints_or(n, "pads", {0, 0, 0, 0}) != std::vector<std::int64_t>{0, 0, 0, 0})
      continue;
    const io::OnnxNode* d = sole_reader(n.outputs[0]);
    if (!d || d->op_type != "Conv" || d->inputs.size() < 2 || !m.initializers.count(d->inputs[1])) continue;
    const io::OnnxTensor& dw = m.initializers.at(d->inputs[1]);
    if (dw.dims.size() != 4 || dw.dims[0] != w.dims[0] || dw.dims[1] != 1 || d->attr_int("group", 1) != w.dims[0])
      continue;
    const io::OnnxNode* after = sole_reader(d->outputs[0]);
    if (after && (after->op_type == "BatchNormalization" || after->op_type == "Relu" || after->op_type == "Clip" ||
                  after->op_type == "Add"))
      continue;
    std::vector<Head>& group = heads[n.inputs[0]];
    // One geometry for the whole group: the depthwise kernels, strides and pads must agree.
    if (!group.empty()) {
      const io::OnnxNode& first = *group[0].depthwise;
      const io::OnnxTensor& fw = m.initializers.at(first.inputs[1]);
      if (fw.dims[2] != dw.dims[2] || fw.dims[3] != dw.dims[3] || first.attr_ints("strides") != d->attr_ints("strides") ||
          first.attr_ints("pads") != d->attr_ints("pads") || first.attribute("auto_pad") || d->attribute("auto_pad"))
        continue;
    }
    group.push_back({&n, d});
  }

  for (const io::OnnxNode& n : m.nodes) {
    if (fused.count(&n)) continue;
    if (const auto group = heads.find(n.op_type == "Conv" ? n.inputs[0] : std::string()); group != heads.end() &&
        group->second.size() >= 2 && group->second[0].pointwise == &n) {
      const GraphNet::Value& x = value(n, 0);
      std::vector<float> w1, b1, w2, b2;
      std::vector<int> channels;  // per head
      int total = 0;
      for (const Head& h : group->second) {
        const io::OnnxTensor& w = initializer(m, *h.pointwise, 1, source);
        const int out_c = weight_dims(w, 4, *h.pointwise, source)[0];
        detail::require(w.floats.size() == static_cast<std::size_t>(out_c) * static_cast<std::size_t>(x.c), source,
                        ": ", h.pointwise->describe(), ": weights for ", w.floats.size() / static_cast<std::size_t>(out_c),
                        " input channels, the input has ", x.c);
        const io::OnnxTensor& dw = initializer(m, *h.depthwise, 1, source);
        weight_dims(dw, 4, *h.depthwise, source);
        // A 1x1 kernel's OIHW is its OHWI, and so is a depthwise kernel's (one input channel each).
        w1.insert(w1.end(), w.floats.begin(), w.floats.end());
        w2.insert(w2.end(), dw.floats.begin(), dw.floats.end());
        for (const io::OnnxNode* node : {h.pointwise, h.depthwise}) {
          std::vector<float> bias(static_cast<std::size_t>(out_c), 0.0f);
          if (node->inputs.size() > 2 && !node->inputs[2].empty()) bias = float_initializer(m, *node, 2, bias.size(), source);
          (node == h.pointwise ? b1 : b2).insert((node == h.pointwise ? b1 : b2).end(), bias.begin(), bias.end());
        }
        total += out_c;
        channels.push_back(out_c);
        fused.insert(h.pointwise), fused.insert(h.depthwise);
      }
      const io::OnnxNode& d = *group->second[0].depthwise;
      ConvGeometry pointwise;
      pointwise.in_c = x.c, pointwise.out_c = total;
      const GraphNet::Value mid = net->add_conv(x, pointwise, std::move(w1), std::move(b1), Clamp{}, nullptr);
      // The first head's depthwise geometry (the group's agree), widened to all the heads' channels.
      ConvGeometry depthwise = conv_geometry(d, GraphNet::Value{mid.h, mid.w, channels[0], mid.id});
      depthwise.in_c = depthwise.out_c = depthwise.groups = total;
      const GraphNet::Value all = net->add_conv(mid, depthwise, std::move(w2), std::move(b2), Clamp{}, nullptr);
      int first = 0;
      for (std::size_t i = 0; i < channels.size(); ++i) {
        values[group->second[i].depthwise->outputs[0]] = net->add_channel_slice(all, first, channels[i]);
        first += channels[i];
      }
      continue;
    }
    detail::require(n.domain.empty() || n.domain == "ai.onnx", source, ": ", n.describe(), ": domain '", n.domain,
                    "' is not supported");
    const std::string& op = n.op_type;
    if (op != "Sigmoid" && op != "Reshape" && op != "Identity" && op != "Shape")
      for (const std::string& input : n.inputs)
        detail::require(!channels_last.count(input), source, ": ", n.describe(), ": input '", input,
                        "' was transposed to channels-last, which only Sigmoid and Reshape take here");
    detail::require(!n.outputs.empty(), source, ": ", n.describe(), " has no output");
    if (op == "Conv") {
      const GraphNet::Value x = shape_of(n, 0);
      const ConvGeometry g = conv_geometry(n, x);
      const io::OnnxTensor& w = initializer(m, n, 1, source);
      const int out_c = g.out_c, in_per_group = g.in_c / g.groups, kh = g.kernel_h, kw = g.kernel_w;
      std::vector<float> weights = ohwi_from_oihw(w.floats.data(), out_c, in_per_group, kh, kw);
      std::vector<float> bias(static_cast<std::size_t>(out_c), 0.0f);
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) bias = float_initializer(m, n, 2, bias.size(), source);
      std::string out_name = n.outputs[0];
      // BatchNormalization folded into the weights.
      if (const io::OnnxNode* bn = sole_reader(out_name); bn && bn->op_type == "BatchNormalization") {
        fold_batch_norm(m, *bn, weights, bias, source);
        fused.insert(bn);
        out_name = bn->outputs[0];
      }
      Clamp clamp;
      std::string residual;  // (empty: none)
      if (const io::OnnxNode* act = sole_reader(out_name); act && (act->op_type == "Relu" || act->op_type == "Clip")) {
        clamp = clamp_of_node(m, *act, source);
        fused.insert(act);
        out_name = act->outputs[0];
      } else if (act && act->op_type == "Add" && act->inputs.size() == 2) {
        const std::string& other = act->inputs[0] == out_name ? act->inputs[1] : act->inputs[0];
        if (values.count(other) || bytes.count(other)) {
          residual = other;
          fused.insert(act);
          out_name = act->outputs[0];
        }
      }
      const io::OnnxNode* pool = sole_reader(out_name);
      if (pool && (!residual.empty() || !is_max_pool_2x2(*pool))) pool = nullptr;
      // In int8 when its input and output have ranges (for a layer a max pool follows, the pool's output
      // range: a maximum does not widen it, and with the ReLU YuNet's layers end in, both start at 0).
      const std::string& int8_out = pool ? pool->outputs[0] : out_name;
      if (calibrated(int8_out) && (g.groups == 1 || (g.is_depthwise() && kh == 3 && kw == 3))) {
        const GraphNet::Value* xb = bytes_of(n.inputs[0]);
        const GraphNet::Value* rb = residual.empty() ? nullptr : bytes_of(residual);
        if (xb && (residual.empty() || rb)) {
          const Int8Weights w8 = quantize_weights(weights.data(), out_c, static_cast<int>(weights.size() / static_cast<std::size_t>(out_c)));
          const GraphNet::Value y = net->add_int8_conv(*xb, g, w8, bias, clamp, int8->quant_params(int8_out), rb);
          if (pool) fused.insert(pool);
          bytes[int8_out] = pool ? net->add_int8_max_pool_2x2(y) : y;
          continue;
        }
      }
      // A depthwise layer whose only reader is a 2x2, stride-2 max pool: one step, the layer's output
      // never stored.
      ConvGeometry sized = g;
      sized.in_h = x.h, sized.in_w = x.w;
      if (pool && kernels::depthwise_max_pool_suits(sized)) {
        fused.insert(pool);
        values[pool->outputs[0]] = net->add_depthwise_max_pool(value(n, 0), g, weights, bias, clamp);
        continue;
      }
      values[out_name] = net->add_conv(value(n, 0), g, std::move(weights), std::move(bias), clamp,
                                       residual.empty() ? nullptr : &float_of(residual));
    } else if (op == "Shape") {
      const GraphNet::Value& x = value(n, 0);
      io::OnnxTensor shape;
      shape.is_float = false;
      if (flat.count(n.inputs[0])) shape.ints = {1, x.c};
      else if (channels_last.count(n.inputs[0])) shape.ints = {1, x.h, x.w, x.c};
      else shape.ints = {1, x.c, x.h, x.w};
      shape.dims = {static_cast<std::int64_t>(shape.ints.size())};
      folded[n.outputs[0]] = shape;
    } else if (op == "Gather") {
      const io::OnnxTensor& data = integers(n, 0);
      const io::OnnxTensor& indices = integers(n, 1);
      detail::require(data.dims.size() == 1, source, ": ", n.describe(), ": only gathering from a list is supported");
      io::OnnxTensor out;
      out.is_float = false;
      out.dims = indices.dims;
      const auto size = static_cast<std::int64_t>(data.ints.size());
      for (std::int64_t i : indices.ints) {
        detail::require(i >= -size && i < size, source, ": ", n.describe(), ": index ", i, " outside a list of ", size);
        out.ints.push_back(data.ints[static_cast<std::size_t>(i < 0 ? i + size : i)]);
      }
      folded[n.outputs[0]] = out;
    } else if (op == "Unsqueeze") {
      io::OnnxTensor out = integers(n, 0);
      const std::vector<std::int64_t> axes = n.inputs.size() > 1 ? integers(n, 1).ints : n.attr_ints("axes");
      detail::require(axes.size() == 1 && out.dims.size() + axes.size() <= 1 && (axes[0] == 0 || axes[0] == -1), source,
                      ": ", n.describe(), ": only a scalar made a list of one is supported");
      out.dims = {static_cast<std::int64_t>(out.ints.size())};
      folded[n.outputs[0]] = out;
    } else if (op == "Concat" && std::all_of(n.inputs.begin(), n.inputs.end(), is_constant)) {
      detail::require(n.attr_int("axis", 0) == 0, source, ": ", n.describe(), ": constants are joined along axis 0 only");
      io::OnnxTensor out;
      out.is_float = false;
      for (std::size_t k = 0; k < n.inputs.size(); ++k) {
        const io::OnnxTensor& part = integers(n, k);
        detail::require(part.dims.size() == 1, source, ": ", n.describe(), ": input ", k, " is not a list");
        out.ints.insert(out.ints.end(), part.ints.begin(), part.ints.end());
      }
      detail::require(out.ints.size() <= 8, source, ": ", n.describe(), ": more than 8 values");
      out.dims = {static_cast<std::int64_t>(out.ints.size())};
      folded[n.outputs[0]] = out;
    } else if (op == "Relu" || op == "Clip") {
      values[n.outputs[0]] = net->add_clamp(value(n, 0), clamp_of_node(m, n, source));
    } else if (op == "Add") {
      Clamp clamp;
      std::string out_name = n.outputs[0];
      if (const io::OnnxNode* act = sole_reader(out_name); act && (act->op_type == "Relu" || act->op_type == "Clip")) {
        clamp = clamp_of_node(m, *act, source);
        fused.insert(act);
        out_name = act->outputs[0];
      }
      // One side upsampled by a Resize that only this Add reads: one step, without the upsampled tensor.
      const auto up = n.inputs.size() == 2 ? upsampled.find(n.inputs[1]) : upsampled.end();
      const auto up0 = n.inputs.size() == 2 ? upsampled.find(n.inputs[0]) : upsampled.end();
      if (up != upsampled.end() && up0 != upsampled.end())  // both: the first upsampled on its own
        values[n.inputs[0]] = net->add_upsample_nearest(float_of(up0->second.low), up0->second.fh, up0->second.fw);
      const bool second = up != upsampled.end();
      const Upsampled* u = second ? &up->second : up0 != upsampled.end() ? &up0->second : nullptr;
      // In int8 when both sides and the sum have ranges.
      const GraphNet::Value* a8 = calibrated(out_name) && n.inputs.size() == 2 ? bytes_of(computed(n, u && !second ? 1 : 0)) : nullptr;
      const GraphNet::Value* b8 = a8 ? bytes_of(u ? u->low : computed(n, 1)) : nullptr;
      if (a8 && b8) {
        bytes[out_name] = net->add_int8_add_upsampled(*a8, *b8, u ? u->fh : 1, u ? u->fw : 1, clamp, int8->quant_params(out_name));
      } else if (u) {
        values[out_name] = net->add_add_upsampled(value(n, second ? 0 : 1), float_of(u->low), u->fh, u->fw, clamp);
      } else {
        values[out_name] = net->add_add(value(n, 0), value(n, 1), clamp);
      }
    } else if (op == "GlobalAveragePool") {
      values[n.outputs[0]] = net->add_global_average_pool(value(n, 0));
    } else if (op == "MaxPool" && is_max_pool_2x2(n) && bytes.count(computed(n, 0))) {
      bytes[n.outputs[0]] = net->add_int8_max_pool_2x2(bytes.at(n.inputs[0]));  // on an int8 layer's bytes
    } else if (op == "MaxPool" || op == "AveragePool") {
      const std::vector<std::int64_t> k = n.attr_ints("kernel_shape"), s = n.attr_ints("strides");
      std::vector<std::int64_t> p = n.attr_ints("pads");
      if (p.empty()) p = {0, 0, 0, 0};
      const io::OnnxAttribute* auto_pad = n.attribute("auto_pad");
      detail::require(p[0] == p[2] && p[1] == p[3] && n.attr_int("ceil_mode", 0) == 0 &&
                          (!auto_pad || auto_pad->s.empty() || auto_pad->s == "NOTSET"),
                      source, ": ", n.describe(), ": only 2-D pooling with symmetric padding and floor rounding is supported");
      values[n.outputs[0]] = net->add_pool(value(n, 0), op == "MaxPool", static_cast<int>(k[0]), static_cast<int>(k[1]),
                                           s.empty() ? 1 : static_cast<int>(s[0]), s.empty() ? 1 : static_cast<int>(s[1]),
                                           static_cast<int>(p[0]), static_cast<int>(p[1]), n.attr_int("count_include_pad", 0) != 0);
    } else if (op == "Sigmoid") {
      values[n.outputs[0]] = net->add_sigmoid(value(n, 0));
      if (channels_last.count(n.inputs[0])) channels_last.insert(n.outputs[0]);
    } else if (op == "Transpose") {
      const GraphNet::Value& x = value(n, 0);
      detail::require(n.attr_ints("perm") == std::vector<std::int64_t>{0, 2, 3, 1} && !channels_last.count(n.inputs[0]),
                      source, ": ", n.describe(), ": only NCHW -> NHWC (perm 0, 2, 3, 1) is supported");
      values[n.outputs[0]] = x;  // the arena holds NHWC already
      channels_last.insert(n.outputs[0]);
    } else if (op == "Resize") {
      const GraphNet::Value x = shape_of(n, 0);
      const io::OnnxAttribute* mode = n.attribute("mode");
      const io::OnnxAttribute* transform = n.attribute("coordinate_transformation_mode");
      const io::OnnxAttribute* rounding = n.attribute("nearest_mode");
      detail::require(mode && mode->s == "nearest" && transform && transform->s == "asymmetric" &&
                          (!rounding || rounding->s == "floor"),
                      source, ": ", n.describe(), ": only nearest, asymmetric, floor resizing is supported");
      int factor[2] = {0, 0};
      if (n.inputs.size() > 2 && !n.inputs[2].empty() && !constant(n, 2).floats.empty()) {
        const std::vector<float>& scales = float_initializer(m, n, 2, 4, source);
        for (int a = 0; a < 2; ++a) {
          const float f = scales[2 + static_cast<std::size_t>(a)];
          factor[a] = f >= 1.0f && f <= 16.0f && f == std::floor(f) ? static_cast<int>(f) : 0;
        }
        detail::require(scales[0] == 1.0f && scales[1] == 1.0f, source, ": ", n.describe(), ": resizes N or C");
      } else {
        detail::require(n.inputs.size() > 3 && !n.inputs[3].empty(), source, ": ", n.describe(), ": neither scales nor sizes");
        const io::OnnxTensor& sizes = constant(n, 3);
        detail::require(!sizes.is_float && sizes.ints.size() == 4, source, ": ", n.describe(), ": sizes are not 4 integers");
        const int from[2] = {x.h, x.w};
        for (int a = 0; a < 2; ++a)
          factor[a] = sizes.ints[2 + static_cast<std::size_t>(a)] % from[a] == 0
                          ? static_cast<int>(sizes.ints[2 + static_cast<std::size_t>(a)] / from[a]) : 0;
      }
      detail::require(factor[0] >= 1 && factor[0] <= 16 && factor[1] >= 1 && factor[1] <= 16, source, ": ",
                      n.describe(), ": only upsampling by whole factors up to 16 is supported");
      if (const io::OnnxNode* add = sole_reader(n.outputs[0]);
          add && add->op_type == "Add" && add->inputs.size() == 2 && add->inputs[0] != add->inputs[1])
        upsampled[n.outputs[0]] = {n.inputs[0], factor[0], factor[1]};  // computed by the Add (the Add handler)
      else
        values[n.outputs[0]] = net->add_upsample_nearest(value(n, 0), factor[0], factor[1]);
    } else if (op == "Reshape" && channels_last.count(n.inputs[0])) {
      // The arena order is the ONNX order: any reshape that keeps the element count is a new name.
      const GraphNet::Value& x = value(n, 0);
      const io::OnnxTensor& shape = constant(n, 1);
      detail::require(!shape.is_float && !shape.ints.empty() && shape.ints.size() <= 6, source, ": ", n.describe(),
                      ": the shape is not 1 to 6 integers");
      std::size_t known = 1;
      int unknown = 0;
      for (std::int64_t d : shape.ints) {
        detail::require(d >= -1 && d <= (std::int64_t{1} << 31), source, ": ", n.describe(), ": dimension ", d);
        if (d == -1) ++unknown;
        else if (d > 0) known *= static_cast<std::size_t>(d);
        detail::require(d != 0, source, ": ", n.describe(), ": a 0 (copied) dimension is not supported");
      }
      detail::require(unknown <= 1 && (unknown ? x.size() % known == 0 : x.size() == known), source, ": ",
                      n.describe(), ": ", x.size(), " elements do not fit the shape");
      values[n.outputs[0]] = x;
      channels_last.insert(n.outputs[0]);
    } else if (op == "Flatten" || op == "Reshape") {
      if (op == "Reshape") {
        const io::OnnxTensor& shape = constant(n, 1);
        detail::require(!shape.is_float && shape.ints.size() == 2, source, ": ", n.describe(), ": only reshapes to [N, features] are supported");
      } else {
        detail::require(n.attr_int("axis", 1) == 1, source, ": ", n.describe(), ": only Flatten(axis=1) is supported");
      }
      values[n.outputs[0]] = net->add_flatten(value(n, 0));
      flat.insert(n.outputs[0]);
    } else if (op == "Identity" || op == "Dropout") {
      values[n.outputs[0]] = value(n, 0);
      if (channels_last.count(n.inputs[0])) channels_last.insert(n.outputs[0]);
    } else if (op == "Concat") {
      const std::int64_t axis = n.attr_int("axis", 1);
      detail::require(axis == 1 || axis == -1, source, ": ", n.describe(), ": only channel concatenation (axis 1) is supported");
      std::vector<GraphNet::Value> parts;
      for (std::size_t k = 0; k < n.inputs.size(); ++k) parts.push_back(value(n, k));
      detail::require(axis == 1 || (parts[0].h == 1 && parts[0].w == 1), source, ": ", n.describe(),
                      ": axis -1 of a 4-D tensor is not supported");
      values[n.outputs[0]] = net->add_concat(parts);
    } else if (op == "Gemm" || op == "MatMul") {
      const GraphNet::Value& x = value(n, 0);
      const io::OnnxTensor& w = initializer(m, n, 1, source);
      detail::require(n.attr_int("transA", 0) == 0, source, ": ", n.describe(), ": only vector x constant matrix products are supported");
      const std::vector<int> dims = weight_dims(w, 2, n, source);
      const bool trans_b = op == "Gemm" && n.attr_int("transB", 0) != 0;
      const int k = trans_b ? dims[1] : dims[0], out = trans_b ? dims[0] : dims[1];
      detail::require(static_cast<std::size_t>(k) == x.size(), source, ": ", n.describe(), ": takes ", k, " features, gets ", x.size());
      const float alpha = op == "Gemm" ? n.attr_float("alpha", 1.0f) : 1.0f, beta = op == "Gemm" ? n.attr_float("beta", 1.0f) : 1.0f;
      std::vector<float> w_in_out(static_cast<std::size_t>(k) * out);
      for (int i = 0; i < k; ++i)
        for (int j = 0; j < out; ++j)
          w_in_out[static_cast<std::size_t>(i) * out + j] =
              alpha * (trans_b ? w.floats[static_cast<std::size_t>(j) * k + i] : w.floats[static_cast<std::size_t>(i) * out + j]);
      std::vector<float> bias(static_cast<std::size_t>(out), 0.0f);
      if (op == "Gemm" && n.inputs.size() > 2 && !n.inputs[2].empty()) {
        const std::vector<float>& c = float_initializer(m, n, 2, 0, source);
        detail::require(c.size() == static_cast<std::size_t>(out) || c.size() == 1, source, ": ",
                        n.describe(), ": bias of ", c.size(), " values for ", out, " outputs");
        for (int j = 0; j < out; ++j) bias[static_cast<std::size_t>(j)] = beta * c[c.size() == 1 ? 0 : static_cast<std::size_t>(j)];
      }
      values[n.outputs[0]] = net->add_fully_connected(x, out, w_in_out, std::move(bias));
      flat.insert(n.outputs[0]);
    } else if (op == "Pad") {
      std::vector<std::int64_t> p = n.attr_ints("pads");
      if (p.empty()) p = constant(n, 1).ints;
      for (std::int64_t v : p)
        detail::require(v >= 0 && v <= detail_onnx_schema::kMaxSpatial, source, ": ", n.describe(), ": padding ", v,
                        " outside [0, ", detail_onnx_schema::kMaxSpatial, "]");
      const io::OnnxAttribute* mode = n.attribute("mode");
      detail::require(p.size() == 8 && p[0] == 0 && p[1] == 0 && p[4] == 0 && p[5] == 0 && (!mode || mode->s == "constant") &&
                          n.attr_float("value", 0.0f) == 0.0f,
                      source, ": ", n.describe(), ": only zero padding of H and W is supported");
      const io::OnnxNode* conv = sole_reader(n.outputs[0]);
      detail::require(conv && conv->op_type == "Conv", source, ": ", n.describe(), ": Pad must feed a Conv to be folded into it");
      padded[n.outputs[0]] = {static_cast<int>(p[2]), static_cast<int>(p[3]), static_cast<int>(p[6]), static_cast<int>(p[7])};
      values[n.outputs[0]] = value(n, 0);
    } else {
      detail::fail(source, ": ", n.describe(), ": op ", op, " is not supported by pfld's ONNX import");
    }
  }

  for (const io::OnnxValue& o : m.outputs) {
    detail::require(values.count(o.name) || bytes.count(o.name), source, ": graph output '", o.name, "' is never computed");
    net->add_output(o.name, float_of(o.name));
  }
  // The float tensors by their ONNX names, for calibration (GraphNet::observe).
  for (const auto& [name, v] : values) net->set_name(v, name);
  return net;
}

}  // namespace detail_onnx_import

// Any ONNX graph of the ops above (and Sigmoid, Resize by whole factors, Transpose to channels-last,
// Reshape of channels-last tensors) as a GraphNet whose outputs are the graph's, by name; no landmark
// output is required. The input is [N, 3, H, W]; `input_height` and `input_width`, when not 0, replace
// the file's H and W (a detector run at the size of each photo).
inline std::shared_ptr<GraphNet> import_onnx_graph(const io::OnnxModel& m, const OnnxImportOptions& options,
                                                   const std::string& source = "onnx", int input_height = 0,
                                                   int input_width = 0) {
  auto net = detail_onnx_import::build_graph(m, options, source, input_height, input_width);
  net->finish();
  return net;
}

// A landmark model: a square input [N, 3, S, S] and a landmark output (OnnxImportOptions::landmark_output).
inline std::shared_ptr<GraphNet> import_onnx(const io::OnnxModel& m, const OnnxImportOptions& options,
                                             const std::string& source = "onnx") {
  detail::require(m.inputs.size() == 1 && m.inputs[0].shape.size() == 4 && m.inputs[0].shape[1] == 3 &&
                      m.inputs[0].shape[2] == m.inputs[0].shape[3],
                  source, ": the input is not [N, 3, S, S]");
  auto net = detail_onnx_import::build_graph(m, options, source, 0, 0);
  for (const auto& [name, v] : net->outputs()) {
    const bool wanted = options.landmark_output.empty() ? (v.h == 1 && v.w == 1 && v.c % 2 == 0)
                                                        : name == options.landmark_output;
    if (wanted) {
      net->set_landmarks(v, options.landmark_scale);
      net->finish();
      return net;
    }
  }
  detail::fail(source, ": no landmark output",
               options.landmark_output.empty() ? " (no vector output of even size)" : " named " + options.landmark_output);
}

inline std::shared_ptr<GraphNet> load_onnx(const std::string& path, const OnnxImportOptions& options = {}) {
  return import_onnx(io::read_onnx(path), options, path);
}

}  // namespace infer
}  // namespace pfld
