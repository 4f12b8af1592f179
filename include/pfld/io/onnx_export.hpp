// pfld models as ONNX (opset 11) for other runtimes: batch norm folded into the convolutions, ReLU as
// Relu and ReLU6 as Clip, the multi-scale head as GlobalAveragePool + Flatten + Concat + Gemm.
// Input "image" [1, 3, S, S] (RGB in [0, 1], NCHW); output "landmarks" [1, 2N] (x, y pairs, crop units).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../infer/fold.hpp"
#include "../model/pfld_net.hpp"
#include "onnx_model.hpp"

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
  std::string conv_bn_act(model::ConvBnAct& unit, const std::string& name, const std::string& x) {
    nn::Conv2d& conv = unit.conv();
    nn::BatchNorm& bn = unit.bn();
    const int out_c = conv.out_channels(), k = conv.kernel(), in_per_group = conv.in_channels() / conv.groups();
    std::vector<float> folded(conv.weight().data(), conv.weight().data() + conv.weight().numel());
    std::vector<float> b(static_cast<std::size_t>(out_c), 0.0f);
    if (conv.has_bias()) std::copy_n(conv.bias().data(), out_c, b.begin());
    fold_batch_norm(folded, b, bn.gamma().data(), bn.beta().data(), bn.running_mean().data(), bn.running_var().data(),
                    bn.eps(), name);
    std::vector<float> w(folded.size());
    for (int o = 0; o < out_c; ++o)
      for (int i = 0; i < in_per_group; ++i)
        for (int y = 0; y < k; ++y)
          for (int xx = 0; xx < k; ++xx)  // OHWI -> OIHW
            w[((static_cast<std::size_t>(o) * in_per_group + i) * k + y) * k + xx] =
                folded[((static_cast<std::size_t>(o) * k + y) * k + xx) * in_per_group + i];
    const std::string wn = constant(name + ".weight", {out_c, in_per_group, k, k}, std::move(w));
    const std::string bname = constant(name + ".bias", {out_c}, std::move(b));
    const int p = conv.padding(), s = conv.stride();
    std::string y = node("Conv", name, {x, wn, bname},
                         {ints("kernel_shape", {k, k}), ints("strides", {s, s}), ints("pads", {p, p, p, p}),
                          integer("group", conv.groups()), ints("dilations", {1, 1})});
    switch (unit.activation()) {
      case Activation::relu: return node("Relu", name + ".relu", {y});
      case Activation::relu6:  // opset 11's Clip, bounds as inputs (OpenCV 4.6's dnn rejects this form)
        return node("Clip", name + ".relu6", {y, constant(name + ".min", {}, {0.0f}), constant(name + ".max", {}, {6.0f})});
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

// The network in eval mode (running statistics) as an ONNX model.
inline OnnxModel export_onnx(model::PfldNet& net) {
  OnnxModel m;
  m.ir_version = 6;
  m.opset = 11;
  m.producer = "pfld";
  m.graph_name = "pfld_" + net.config().str();
  detail_export::GraphBuilder g(m);
  const int s = net.config().input_size;
  m.inputs.push_back({"image", {1, 3, s, s}});
  std::string x = g.conv_bn_act(net.conv1(), "conv1", "image");
  x = g.conv_bn_act(net.conv2(), "conv2", x);
  for (std::size_t i = 0; i < net.block_count(); ++i) {
    model::InvertedResidual& b = net.block(i);
    const std::string name = "block" + std::to_string(i);
    std::string y = g.conv_bn_act(b.expand(), name + ".expand", x);
    y = g.conv_bn_act(b.depthwise(), name + ".depthwise", y);
    y = g.conv_bn_act(b.project(), name + ".project", y);
    x = b.has_residual() ? g.node("Add", name + ".add", {x, y}) : y;
  }
  const std::string s1 = g.node("Flatten", "s1.flatten", {g.node("GlobalAveragePool", "s1.pool", {x})},
                                {detail_export::GraphBuilder::integer("axis", 1)});
  const std::string c7 = g.conv_bn_act(net.conv7(), "conv7", x);
  const std::string s2 = g.node("Flatten", "s2.flatten", {g.node("GlobalAveragePool", "s2.pool", {c7})},
                                {detail_export::GraphBuilder::integer("axis", 1)});
  const std::string s3 = g.node("Flatten", "s3.flatten", {g.conv_bn_act(net.conv8(), "conv8", c7)},
                                {detail_export::GraphBuilder::integer("axis", 1)});
  const std::string features = g.node("Concat", "concat", {s1, s2, s3}, {detail_export::GraphBuilder::integer("axis", 1)});
  nn::Linear& fc = net.fc();
  const std::string w = g.constant("fc.weight", {fc.out_features(), fc.in_features()},
                                   std::vector<float>(fc.weight().begin(), fc.weight().end()));
  const std::string b = g.constant("fc.bias", {fc.out_features()}, std::vector<float>(fc.bias().begin(), fc.bias().end()));
  g.node("Gemm", "fc", {features, w, b}, {detail_export::GraphBuilder::integer("transB", 1)}, "landmarks");
  m.outputs.push_back({"landmarks", {1, fc.out_features()}});
  return m;
}

inline void save_onnx(const std::string& path, model::PfldNet& net) { write_onnx(path, export_onnx(net)); }

}  // namespace pfld::io
