// pfld models as ONNX (opset 11) for other runtimes: batch norm folded into the convolutions, ReLU as
// Relu and ReLU6 as Clip, the multi-scale head as GlobalAveragePool + Flatten + Concat + Gemm.
// Input "image" [1, 3, S, S] (RGB in [0, 1], NCHW); output "landmarks" [1, 2N] (x, y pairs, crop units).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "../infer/fold.hpp"
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

// The PFLD network `config` describes, its tensors from `tensor` (running statistics: the eval-mode
// network), as an ONNX model. Walks the description (model/architecture.hpp) as the inference builder
// does.
inline OnnxModel export_onnx(const ModelConfig& config, const model::PfldTensorLookup& tensor) {
  const model::PfldArchitecture arch(config);
  OnnxModel m;
  m.ir_version = 6;
  m.opset = 11;
  m.producer = "pfld";
  m.graph_name = "pfld_" + config.str();
  detail_export::GraphBuilder g(m);
  const int s = config.input_size;
  m.inputs.push_back({"image", {1, 3, s, s}});
  std::string x = g.conv_bn_act(arch.conv1, tensor, "image");
  x = g.conv_bn_act(arch.conv2, tensor, x);
  for (const model::BottleneckUnit& b : arch.blocks) {
    std::string y = g.conv_bn_act(b.expand, tensor, x);
    y = g.conv_bn_act(b.depthwise, tensor, y);
    y = g.conv_bn_act(b.project, tensor, y);
    x = b.residual ? g.node("Add", b.name + ".add", {x, y}) : y;
  }
  const std::string s1 = g.node("Flatten", "s1.flatten", {g.node("GlobalAveragePool", "s1.pool", {x})},
                                {detail_export::GraphBuilder::integer("axis", 1)});
  const std::string c7 = g.conv_bn_act(arch.conv7, tensor, x);
  const std::string s2 = g.node("Flatten", "s2.flatten", {g.node("GlobalAveragePool", "s2.pool", {c7})},
                                {detail_export::GraphBuilder::integer("axis", 1)});
  const std::string s3 = g.node("Flatten", "s3.flatten", {g.conv_bn_act(arch.conv8, tensor, c7)},
                                {detail_export::GraphBuilder::integer("axis", 1)});
  const std::string features = g.node("Concat", "concat", {s1, s2, s3}, {detail_export::GraphBuilder::integer("axis", 1)});
  const Tensor& fc_w = tensor("fc.weight");
  const Tensor& fc_b = tensor("fc.bias");
  const std::string w = g.constant("fc.weight", {arch.fc_out, arch.fc_in}, std::vector<float>(fc_w.begin(), fc_w.end()));
  const std::string b = g.constant("fc.bias", {arch.fc_out}, std::vector<float>(fc_b.begin(), fc_b.end()));
  g.node("Gemm", "fc", {features, w, b}, {detail_export::GraphBuilder::integer("transB", 1)}, "landmarks");
  m.outputs.push_back({"landmarks", {1, arch.fc_out}});
  return m;
}

// A weights or checkpoint file as an ONNX model, checked first (require_pfld_tensors).
inline OnnxModel export_onnx(const ModelFile& file, const std::string& source) {
  require_pfld_tensors(file, source);
  detail::require(!is_int8_model(file), source,
                  ": an int8 model; export the float weights it was made from (int8 models have no ONNX export yet)");
  return export_onnx(file.config, [&](const std::string& name) -> const Tensor& { return *file.find(name); });
}

}  // namespace pfld::io
