// pfld models as ONNX (opset 11) for other runtimes: batch norm folded into the convolutions, ReLU as
// Relu and ReLU6 as Clip, the multi-scale head as GlobalAveragePool + Flatten + Concat + Gemm; int8
// models in QDQ form (opset 13: export_int8_onnx).
// Input "image" [1, 3, S, S] (RGB in [0, 1], NCHW); output "landmarks" [1, 2N] (x, y pairs, crop units).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

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

  // An int8 unit of an int8 model file in QDQ form: its int8 weights (per output channel, axis 0) and
  // its bias (int32 in units of input scale x weight scale, as QLinearConv takes it) dequantized into
  // a float Conv, then the activation. x: the dequantized input, of scale `in_scale`.
  std::string int8_conv_act(const model::ConvUnit& u, const ModelFile& file, const std::string& x, float in_scale) {
    const int out_c = u.out, k = u.kernel, in_per_group = u.in / u.groups;
    const model::Int8TensorNames names = model::int8_tensor_names(u);
    const Tensor& w8 = *file.find(names.weight);
    const Tensor& scale = *file.find(names.scale);
    const Tensor& bias = *file.find(names.bias);
    const std::vector<float> w = oihw_from_ohwi(w8.data(), out_c, in_per_group, k, k);
    const std::string wq = integers(u.name + ".weight_q", {out_c, in_per_group, k, k}, std::vector<std::int64_t>(w.begin(), w.end()),
                                    detail_onnx::kInt8);
    const std::string ws = constant(u.name + ".weight_scale", {out_c}, std::vector<float>(scale.begin(), scale.end()));
    const std::string wz = integers(u.name + ".weight_zero", {out_c}, std::vector<std::int64_t>(static_cast<std::size_t>(out_c), 0),
                                    detail_onnx::kInt8);
    std::vector<std::int64_t> bq(static_cast<std::size_t>(out_c));
    std::vector<float> bs(static_cast<std::size_t>(out_c));
    for (std::size_t c = 0; c < bq.size(); ++c) {
      bs[c] = in_scale * scale[c];
      bq[c] = std::llround(static_cast<double>(bias[c]) / bs[c]);
    }
    const std::string bqn = integers(u.name + ".bias_q", {out_c}, std::move(bq), detail_onnx::kInt32);
    const std::string bsn = constant(u.name + ".bias_scale", {out_c}, std::move(bs));
    const std::string bz = integers(u.name + ".bias_zero", {out_c}, std::vector<std::int64_t>(static_cast<std::size_t>(out_c), 0),
                                    detail_onnx::kInt32);
    const OnnxAttribute axis = integer("axis", 0);
    const std::string wf = node("DequantizeLinear", u.name + ".weight_dq", {wq, ws, wz}, {axis});
    const std::string bf = node("DequantizeLinear", u.name + ".bias_dq", {bqn, bsn, bz}, {axis});
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

// A weights or checkpoint file as an ONNX model (an int8 model file in QDQ form), checked first
// (require_pfld_tensors).
inline OnnxModel export_onnx(const ModelFile& file, const std::string& source) {
  require_pfld_tensors(file, source);
  if (is_int8_model(file)) return export_int8_onnx(file);
  return export_onnx(file.config, [&](const std::string& name) -> const Tensor& { return *file.find(name); });
}

}  // namespace pfld::io
