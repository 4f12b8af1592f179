// pfld models as ONNX (opset 11) for other runtimes: batch norm folded into the convolutions, ReLU as
// Relu and ReLU6 as Clip, the multi-scale head as GlobalAveragePool + Flatten + Concat + Gemm; int8
// models in QDQ form (opset 13: export_int8_onnx).
// Input "image" [1, 3, S, S] (RGB in [0, 1], NCHW); output "landmarks" [1, 2N] (x, y pairs, crop units).
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../infer/activation_ranges.hpp"
#include "../infer/fold.hpp"
#include "../infer/int8_quantization.hpp"
#include "../infer/weight_layout.hpp"
#include "../model/architecture.hpp"
#include "model_file.hpp"
#include "onnx_model.hpp"
#include "pfld_weights.hpp"

namespace pfld::io {

namespace detail_export {

class GraphBuilder {
 public:
  explicit GraphBuilder(OnnxModel& m) : m_(m) {}

  std::string fresh(const std::string& stem) { return stem + "_" + std::to_string(counter_++); }

  std::string constant(const std::string& name, std::vector<std::int64_t> dims, std::vector<float> values) {
    OnnxTensor t;
    t.dims = std::move(dims);
    t.floats = std::move(values);
    m_.initializers[name] = std::move(t);
    return name;
  }

  std::string node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                   std::vector<OnnxAttribute> attributes = {}, std::string output = {}) {
    OnnxNode n;
    n.op_type = op;
    n.name = name;
    n.inputs = std::move(inputs);
    n.outputs = {output.empty() ? name + "_out" : output};
    n.attributes = std::move(attributes);
    m_.nodes.push_back(n);
    return n.outputs[0];
  }

  // conv + BN (folded) + activation, as Conv [+ Relu | Clip].
  std::string conv_bn_act(const model::ConvUnit& u, const model::PfldTensorLookup& tensor, const std::string& x) {
    const int out_c = u.out, k = u.kernel, in_per_group = u.in / u.groups;
    const Tensor& weight = tensor(u.name + ".conv.weight");
    std::vector<float> folded(weight.begin(), weight.end());
    std::vector<float> b(static_cast<std::size_t>(out_c), 0.0f);  // (PFLD's convolutions have no bias)
    fold_batch_norm(folded, b, tensor(u.name + ".bn.weight").data(), tensor(u.name + ".bn.bias").data(),
                    tensor(u.name + ".bn.running_mean").data(), tensor(u.name + ".bn.running_var").data(),
                    model::ConvUnit::kBatchNormEps, u.name);
    std::vector<float> w = oihw_from_ohwi(folded.data(), out_c, in_per_group, k, k);
    const std::string wn = constant(u.name + ".weight", {out_c, in_per_group, k, k}, std::move(w));
    const std::string bname = constant(u.name + ".bias", {out_c}, std::move(b));
    const int p = u.padding, s = u.stride;
    std::string y = node("Conv", u.name, {x, wn, bname},
                         {ints("kernel_shape", {k, k}), ints("strides", {s, s}), ints("pads", {p, p, p, p}),
                          integer("group", u.groups), ints("dilations", {1, 1})});
    return activation(u, y);
  }

  // An integer initializer of onnx.proto data type `type` (detail_onnx::kInt8, kUint8, kInt32).
  std::string integers(const std::string& name, std::vector<std::int64_t> dims, std::vector<std::int64_t> values, int type) {
    OnnxTensor t;
    t.dims = std::move(dims);
    t.ints = std::move(values);
    t.is_float = false;
    t.int_type = type;
    m_.initializers[name] = std::move(t);
    return name;
  }

  // x through QuantizeLinear and DequantizeLinear with the byte map of the real range (lo, hi), as
  // pfld's QuantParams::from_range draws it: the activation an int8 layer writes, in QDQ form.
  std::string fake_quantize(const std::string& x, const std::string& name, float lo, float hi) {
    const QuantParams q = QuantParams::from_range(lo, hi);
    const std::string s = constant(name + ".q_scale", {}, {q.scale});
    const std::string z = integers(name + ".q_zero", {}, {q.zero}, detail_onnx::kUint8);
    return node("DequantizeLinear", name + ".dq", {node("QuantizeLinear", name + ".q", {x, s, z}), s, z});
  }

  // A Conv's int8 weights (OIHW, `values` whole numbers in [-127, 127], `scales` per output channel) and
  // its float bias as DequantizeLinear outputs {weights, bias}: the weights per output channel (axis 0),
  // the bias in int32 units of input scale x weight scale, as QLinearConv takes it (`in_scale`: the
  // scale of the Conv's quantized input).
  std::pair<std::string, std::string> int8_weights(const std::string& name, const std::vector<std::int64_t>& dims,
                                                   std::vector<std::int64_t> values, const std::vector<float>& scales,
                                                   const std::vector<float>& bias, float in_scale) {
    const std::int64_t out_c = dims.at(0);
    const std::string wq = integers(name + ".weight_q", dims, std::move(values), detail_onnx::kInt8);
    const std::string ws = constant(name + ".weight_scale", {out_c}, scales);
    const std::string wz = integers(name + ".weight_zero", {out_c}, std::vector<std::int64_t>(scales.size(), 0), detail_onnx::kInt8);
    std::vector<std::int64_t> bq(bias.size());
    std::vector<float> bs(bias.size());
    for (std::size_t c = 0; c < bq.size(); ++c) {
      bs[c] = in_scale * scales[c];
      bq[c] = std::llround(static_cast<double>(bias[c]) / bs[c]);
    }
    const std::string bqn = integers(name + ".bias_q", {out_c}, std::move(bq), detail_onnx::kInt32);
    const std::string bsn = constant(name + ".bias_scale", {out_c}, std::move(bs));
    const std::string bz = integers(name + ".bias_zero", {out_c}, std::vector<std::int64_t>(bias.size(), 0), detail_onnx::kInt32);
    const OnnxAttribute axis = integer("axis", 0);
    return {node("DequantizeLinear", name + ".weight_dq", {wq, ws, wz}, {axis}),
            node("DequantizeLinear", name + ".bias_dq", {bqn, bsn, bz}, {axis})};
  }

  // An int8 unit of an int8 model file in QDQ form: its int8 weights and bias (int8_weights) into a
  // float Conv, then the activation. x: the dequantized input, of scale `in_scale`.
  std::string int8_conv_act(const model::ConvUnit& u, const ModelFile& file, const std::string& x, float in_scale) {
    const int out_c = u.out, k = u.kernel, in_per_group = u.in / u.groups;
    const model::Int8TensorNames names = model::int8_tensor_names(u);
    const Tensor& scale = *file.find(names.scale);
    const Tensor& bias = *file.find(names.bias);
    const std::vector<float> w = oihw_from_ohwi(file.find(names.weight)->data(), out_c, in_per_group, k, k);
    const auto [wf, bf] = int8_weights(u.name, {out_c, in_per_group, k, k}, std::vector<std::int64_t>(w.begin(), w.end()),
                                       std::vector<float>(scale.begin(), scale.end()), std::vector<float>(bias.begin(), bias.end()),
                                       in_scale);
    const int p = u.padding, st = u.stride;
    const std::string y = node("Conv", u.name, {x, wf, bf},
                               {ints("kernel_shape", {k, k}), ints("strides", {st, st}), ints("pads", {p, p, p, p}),
                                integer("group", u.groups), ints("dilations", {1, 1})});
    return activation(u, y);
  }

  std::string activation(const model::ConvUnit& u, const std::string& y) {
    switch (u.activation) {
      case Activation::relu: return node("Relu", u.name + ".relu", {y});
      case Activation::relu6:  // opset 11's Clip, bounds as inputs (OpenCV 4.6's dnn rejects this form)
        return node("Clip", u.name + ".relu6", {y, constant(u.name + ".min", {}, {0.0f}), constant(u.name + ".max", {}, {6.0f})});
      default: return y;
    }
  }

  static OnnxAttribute ints(const std::string& name, std::vector<std::int64_t> v) {
    OnnxAttribute a;
    a.name = name;
    a.type = OnnxAttribute::ints_;
    a.ints = std::move(v);
    return a;
  }
  static OnnxAttribute integer(const std::string& name, std::int64_t v) {
    OnnxAttribute a;
    a.name = name;
    a.type = OnnxAttribute::int_;
    a.i = v;
    return a;
  }

 private:
  OnnxModel& m_;
  int counter_ = 0;
};

}  // namespace detail_export

namespace detail_export {

// The walk of the description both exports share: float units as Conv (+ activation); with `int8` (an
// int8 model file), its int8 units and the tensors they read and write in QDQ form.
inline OnnxModel export_pfld(const ModelConfig& config, const model::PfldTensorLookup& tensor, const ModelFile* int8) {
  const model::PfldArchitecture arch(config);
  OnnxModel m;
  m.ir_version = int8 ? 7 : 6;
  m.opset = int8 ? 13 : 11;  // (13: DequantizeLinear per channel)
  m.producer = "pfld";
  m.graph_name = (int8 ? "pfld_int8_" : "pfld_") + config.str();
  GraphBuilder g(m);
  const int s = config.input_size;
  m.inputs.push_back({"image", {1, 3, s, s}});
  // An int8 unit's calibrated output range.
  auto range = [&](const model::ConvUnit& u) {
    const Tensor& r = *int8->find(model::int8_tensor_names(u).range);
    return std::pair<float, float>{r[0], r[1]};
  };
  auto scale_of = [&](const model::ConvUnit& u) {
    if (!int8) return 0.0f;  // (unused by a float unit)
    const auto [lo, hi] = range(u);
    return QuantParams::from_range(lo, hi).scale;
  };
  auto quantized = [&](const std::string& x, const model::ConvUnit& u, const std::string& name) {
    const auto [lo, hi] = range(u);
    return g.fake_quantize(x, name, lo, hi);
  };
  // Unit u on x; in int8, x is dequantized bytes of scale in_scale.
  auto unit = [&](const model::ConvUnit& u, const std::string& x, float in_scale) {
    if (!int8) return g.conv_bn_act(u, tensor, x);
    return quantized(g.int8_conv_act(u, *int8, x, in_scale), u, u.name);
  };
  // In int8 the image goes in as bytes: the input map of the architecture (its range [0, 1]: scale 1/255).
  const std::string image = int8 ? g.fake_quantize("image", "image", arch.kInputLo, arch.kInputHi) : "image";
  std::string x = unit(arch.conv1, image, QuantParams::from_range(arch.kInputLo, arch.kInputHi).scale);
  x = unit(arch.conv2, x, scale_of(arch.conv1));
  const model::ConvUnit* last = &arch.conv2;
  for (const model::BottleneckUnit& b : arch.blocks) {
    std::string y = unit(b.expand, x, scale_of(*last));
    y = unit(b.depthwise, y, scale_of(b.expand));
    y = unit(b.project, y, scale_of(b.depthwise));
    // (pfld adds the residual inside the project layer; here the layer's output takes the sum's map)
    if (b.residual) y = g.node("Add", b.name + ".add", {x, y});
    if (b.residual && int8) y = quantized(y, b.project, b.name + ".add");
    x = y;
    last = &b.project;
  }
  const std::string s1 = g.node("Flatten", "s1.flatten", {g.node("GlobalAveragePool", "s1.pool", {x})},
                                {GraphBuilder::integer("axis", 1)});
  const std::string c7 = unit(arch.conv7, x, scale_of(*last));
  const std::string s2 = g.node("Flatten", "s2.flatten", {g.node("GlobalAveragePool", "s2.pool", {c7})},
                                {GraphBuilder::integer("axis", 1)});
  const std::string c8 = unit(arch.conv8, c7, scale_of(arch.conv7));
  const std::string s3 = g.node("Flatten", "s3.flatten", {c8}, {GraphBuilder::integer("axis", 1)});
  const std::string features = g.node("Concat", "concat", {s1, s2, s3}, {GraphBuilder::integer("axis", 1)});
  const Tensor& fc_w = tensor("fc.weight");
  const Tensor& fc_b = tensor("fc.bias");
  const std::string w = g.constant("fc.weight", {arch.fc_out, arch.fc_in}, std::vector<float>(fc_w.begin(), fc_w.end()));
  const std::string b = g.constant("fc.bias", {arch.fc_out}, std::vector<float>(fc_b.begin(), fc_b.end()));
  g.node("Gemm", "fc", {features, w, b}, {GraphBuilder::integer("transB", 1)}, "landmarks");
  m.outputs.push_back({"landmarks", {1, arch.fc_out}});
  return m;
}

}  // namespace detail_export

// The PFLD network `config` describes, its tensors from `tensor` (running statistics: the eval-mode
// network), as an ONNX model. Walks the description (model/architecture.hpp) as the inference builder
// does.
inline OnnxModel export_onnx(const ModelConfig& config, const model::PfldTensorLookup& tensor) {
  return detail_export::export_pfld(config, tensor, nullptr);
}

// An int8 model file (infer/pfld_int8.hpp) in QDQ form (opset 13), so that a runtime with int8
// kernels (onnxruntime fuses each DequantizeLinear -> Conv -> QuantizeLinear into a QLinearConv) runs
// the same quantized network: every tensor an int8 unit reads or writes through QuantizeLinear +
// DequantizeLinear with its calibrated map, int8 weights per output channel, int32 biases. pfld adds a
// block's residual inside its project layer; here the project layer's output is quantized with the
// sum's map, then added to the dequantized residual and quantized again. Requires an int8 model file
// that io::require_pfld_tensors has passed.
inline OnnxModel export_int8_onnx(const ModelFile& file) {
  return detail_export::export_pfld(file.config, [&](const std::string& name) -> const Tensor& { return *file.find(name); },
                                    &file);
}

// A float ONNX model with calibrated ranges by tensor name (a face detector's: pfld_convert --quantize
// of a YuNet file) in QDQ form (opset 13), for runtimes with int8 kernels: the network pfld's import
// runs in int8 (OnnxImportOptions::int8). Every tensor with a range passes through QuantizeLinear +
// DequantizeLinear with pfld's map of it, unless it is a graph output or only layout ops (Transpose,
// Reshape) and Sigmoid read it (the detector's heads, which pfld runs in float), a tensor only a
// MaxPool reads with the pool's range (pfld pools the layer's bytes); a Conv between two
// such tensors (its output directly or through its Relu) gets int8 weights per output channel, as
// pfld quantizes them, and an int32 bias. Requires a model pfld imports (its Convs' weights and biases
// initializers). Nodes whose form changed by opset 13 are rewritten to it ((Un)Squeeze's axes).
inline OnnxModel export_qdq_onnx(const OnnxModel& m, const ActivationRanges& ranges, const std::string& source) {
  using detail_export::GraphBuilder;
  OnnxModel q = m;
  q.nodes.clear();
  q.opset = std::max<std::int64_t>(m.opset, 13);  // (13: DequantizeLinear per channel)
  q.ir_version = std::max<std::int64_t>(m.ir_version, 7);
  GraphBuilder g(q);
  std::map<std::string, std::vector<const OnnxNode*>> readers;
  for (const OnnxNode& n : m.nodes)
    for (const std::string& input : n.inputs) readers[input].push_back(&n);
  std::set<std::string> outputs;
  for (const OnnxValue& o : m.outputs) outputs.insert(o.name);
  // A tensor's range; one only a MaxPool reads takes the pool's (as pfld, which pools the layer's bytes).
  auto range_of = [&](const std::string& name) -> const std::pair<float, float>* {
    if (const auto it = ranges.ranges.find(name); it != ranges.ranges.end()) return &it->second;
    const auto r = readers.find(name);
    if (r == readers.end() || r->second.size() != 1 || r->second[0]->op_type != "MaxPool" || r->second[0]->outputs.empty())
      return nullptr;
    const auto it = ranges.ranges.find(r->second[0]->outputs[0]);
    return it != ranges.ranges.end() ? &it->second : nullptr;
  };
  auto quantized = [&](const std::string& name) {
    if (!range_of(name) || outputs.count(name) || !readers.count(name)) return false;
    for (const OnnxNode* r : readers.at(name))
      if (r->op_type != "Transpose" && r->op_type != "Reshape" && r->op_type != "Sigmoid") return true;
    return false;
  };
  std::map<std::string, std::string> dequantized;  // a quantized tensor -> its DequantizeLinear output
  auto fake_quantize = [&](const std::string& name) {
    const auto [lo, hi] = *range_of(name);
    dequantized[name] = g.fake_quantize(name, g.fresh("qdq"), lo, hi);
  };
  for (const OnnxValue& in : m.inputs)
    if (quantized(in.name)) fake_quantize(in.name);
  for (const OnnxNode& n : m.nodes) {
    OnnxNode node = n;
    for (std::string& input : node.inputs)
      if (const auto it = dequantized.find(input); it != dequantized.end()) input = it->second;
    // Opset 13 takes (Un)Squeeze's axes as an input, not an attribute (a dynamic-size export has them).
    if ((n.op_type == "Unsqueeze" || n.op_type == "Squeeze") && m.opset < 13)
      if (const OnnxAttribute* axes = n.attribute("axes")) {
        node.inputs.push_back(g.integers(g.fresh("axes"), {static_cast<std::int64_t>(axes->ints.size())}, axes->ints,
                                         detail_onnx::kInt64));
        node.attributes.erase(std::remove_if(node.attributes.begin(), node.attributes.end(),
                                             [](const OnnxAttribute& a) { return a.name == "axes"; }),
                              node.attributes.end());
      }
    bool into_quantized = false;  // (the Conv's output, or its Relu's)
    if (!n.outputs.empty()) {
      const auto after = readers.find(n.outputs[0]);
      into_quantized = quantized(n.outputs[0]) ||
                       (after != readers.end() && after->second.size() == 1 && after->second[0]->op_type == "Relu" &&
                        !after->second[0]->outputs.empty() && quantized(after->second[0]->outputs[0]));
    }
    if (n.op_type == "Conv" && n.inputs.size() >= 2 && dequantized.count(n.inputs[0]) && into_quantized) {
      const auto found = m.initializers.find(n.inputs[1]);
      detail::require(found != m.initializers.end() && found->second.dims.size() == 4 && found->second.is_float &&
                          !found->second.floats.empty() && found->second.dims[0] >= 1,
                      source, ": ", n.describe(), ": weights are not a 4-D float initializer");
      const OnnxTensor& w = found->second;
      const int out_c = static_cast<int>(w.dims[0]), per = static_cast<int>(w.floats.size() / static_cast<std::size_t>(out_c));
      const Int8Weights w8 = quantize_weights(w.floats.data(), out_c, per);
      const std::pair<float, float> in_range = *range_of(n.inputs[0]);
      const float in_scale = QuantParams::from_range(in_range.first, in_range.second).scale;
      std::vector<float> bias(static_cast<std::size_t>(out_c), 0.0f);
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        const auto b = m.initializers.find(n.inputs[2]);
        detail::require(b != m.initializers.end() && b->second.is_float && b->second.floats.size() == bias.size(), source,
                        ": ", n.describe(), ": bias is not ", out_c, " float initializers");
        bias = b->second.floats;
      }
      const auto [wf, bf] = g.int8_weights(g.fresh("conv"), w.dims, std::vector<std::int64_t>(w8.values.begin(), w8.values.end()),
                                           w8.scales, bias, in_scale);
      node.inputs.resize(3);
      node.inputs[1] = wf;
      node.inputs[2] = bf;
    }
    q.nodes.push_back(node);
    for (const std::string& out : n.outputs)
      if (quantized(out)) fake_quantize(out);
  }
  return q;
}

// A weights or checkpoint file as an ONNX model (an int8 model file in QDQ form), checked first
// (require_pfld_tensors).
inline OnnxModel export_onnx(const ModelFile& file, const std::string& source) {
  require_pfld_tensors(file, source);
  if (is_int8_model(file)) return export_int8_onnx(file);
  return export_onnx(file.config, [&](const std::string& name) -> const Tensor& { return *file.find(name); });
}

}  // namespace pfld::io
