// PFLD's network as data (the paper's Table 1): every convolution unit with its name, channels, kernel,
// stride and groups, the bottleneck blocks, and the landmark layer. PfldNet is built from it, and a
// model file is checked against it (names and shapes of every tensor) before any network is built, so a
// small file cannot make the loader allocate a large network.
//
//   conv1   3x3/2 conv + BN + act                         56x56x64w
//   conv2   3x3 depthwise + BN + act                      56x56x64w
//   stage3  5 inverted residuals, t=2, first /2            28x28x64w   -> the aux net's features
//   stage4  1 inverted residual, t=2, /2                   14x14x128w
//   stage5  6 inverted residuals, t=4                      14x14x128w
//   stage6  1 inverted residual, t=2                       14x14x16    -> S1 = avg pool (16)
//   conv7   3x3/2 conv + BN + act                          7x7x32      -> S2 = avg pool (32)
//   conv8   7x7 valid conv + BN + act                      1x1x128     -> S3 (128)
//   fc      concat(S1, S2, S3) = 176 -> 2N
// (w = width multiplier). The first block of each stage has no shortcut; the others add their input.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../core/tensor.hpp"
#include "config.hpp"

namespace pfld::model {

// Convolution (no bias) + batch norm + activation. Tensors: <name>.conv.weight (out, k, k, in / groups),
// <name>.bn.{weight, bias, running_mean, running_var} (out).
struct ConvUnit {
  static constexpr float kBatchNormEps = 1e-5f;  // every unit's batch norm: var + eps under the root
  std::string name;
  int in = 1, out = 1, kernel = 1, stride = 1, padding = 0, groups = 1;
  Activation activation = Activation::relu;
};

// The tensors of a unit in an int8 model file (PfldArchitecture::int8_tensors): its weights as int8
// values (stored as bytes, OHWI), their scale per output channel, its folded bias, its output's
// calibrated range (lo, hi).
struct Int8TensorNames {
  std::string weight, scale, bias, range;
};
inline Int8TensorNames int8_tensor_names(const ConvUnit& u) {
  return {u.name + ".int8.weight", u.name + ".int8.scale", u.name + ".int8.bias", u.name + ".range"};
}

// MobileNetV2's inverted residual: 1x1 expand, 3x3 depthwise (carries the stride), 1x1 linear project,
// plus the input when `residual`.
struct BottleneckUnit {
  std::string name;
  ConvUnit expand, depthwise, project;
  bool residual = false;

  static BottleneckUnit make(std::string name, int in, int out, int stride, int expansion, bool residual,
                             Activation act) {
    const int hidden = in * expansion;
    BottleneckUnit b;
    b.expand = {name + ".expand", in, hidden, 1, 1, 0, 1, act};
    b.depthwise = {name + ".depthwise", hidden, hidden, 3, stride, 1, hidden, act};
    b.project = {name + ".project", hidden, out, 1, 1, 0, 1, Activation::identity};
    b.name = std::move(name);
    b.residual = residual;
    return b;
  }
};

// The tensor of a name PfldArchitecture::tensors lists, of the shape it lists: how the readers of the
// description (the inference builder, ONNX export) get weights from a model file or a trainable network.
using PfldTensorLookup = std::function<const Tensor&(const std::string& name)>;

struct PfldArchitecture {
  ConvUnit conv1, conv2;
  std::vector<BottleneckUnit> blocks;
  std::size_t features_block = 0;  // the last block of stage 3: its output feeds the auxiliary net
  ConvUnit conv7, conv8;
  int fc_in = 16 + 32 + 128, fc_out = 0;  // fc: concat(S1, S2, S3) -> 2N; tensors fc.weight (2N, 176), fc.bias

  explicit PfldArchitecture(const ModelConfig& config) {
    config.validate();
    const Activation act = config.activation;
    const int c64 = config.scaled(64), c128 = config.scaled(128);
    conv1 = {"conv1", 3, c64, 3, 2, 1, 1, act};
    conv2 = {"conv2", c64, c64, 3, 1, 1, c64, act};
    add_stage("stage3", 5, c64, c64, 2, 2, act);
    features_block = blocks.size() - 1;
    add_stage("stage4", 1, c64, c128, 2, 2, act);
    add_stage("stage5", 6, c128, c128, 1, 4, act);
    add_stage("stage6", 1, c128, 16, 1, 2, act);
    conv7 = {"conv7", 16, 32, 3, 2, 1, 1, act};
    conv8 = {"conv8", 32, 128, 7, 1, 0, 1, act};
    fc_out = 2 * config.landmarks;
  }

  // Every convolution unit in the order data flows through them.
  std::vector<const ConvUnit*> conv_units() const {
    std::vector<const ConvUnit*> units{&conv1, &conv2};
    for (const BottleneckUnit& b : blocks)
      for (const ConvUnit* u : {&b.expand, &b.depthwise, &b.project}) units.push_back(u);
    units.push_back(&conv7);
    units.push_back(&conv8);
    return units;
  }

  // The units an int8 model runs in int8 (infer/pfld_int8.hpp): every convolution unit (conv1 on the
  // crop's bytes, conv7 and conv8 as well as the blocks); only the fully connected layer stays float.
  std::vector<const ConvUnit*> int8_units() const { return conv_units(); }
  // The range of the network's input, the crop's pixels (data/crop.hpp: bytes / 255): the int8 stem's
  // input map, fixed rather than calibrated.
  static constexpr float kInputLo = 0.0f, kInputHi = 1.0f;

  // The tensors of an int8 weights file: the float layers' as tensors() lists them, then each int8
  // unit's (int8_tensor_names).
  std::vector<std::pair<std::string, Shape>> int8_tensors() const {
    const std::vector<const ConvUnit*> quantized = int8_units();
    std::vector<std::pair<std::string, Shape>> out;
    for (const auto& [name, shape] : tensors()) {
      bool of_quantized = false;
      for (const ConvUnit* u : quantized) of_quantized = of_quantized || name.rfind(u->name + ".", 0) == 0;
      if (!of_quantized) out.emplace_back(name, shape);
    }
    for (const ConvUnit* u : quantized) {
      const Int8TensorNames names = int8_tensor_names(*u);
      out.emplace_back(names.weight, Shape{u->out, u->kernel, u->kernel, u->in / u->groups});
      out.emplace_back(names.scale, Shape{u->out});
      out.emplace_back(names.bias, Shape{u->out});
      out.emplace_back(names.range, Shape{2});
    }
    return out;
  }

  // The name and shape of every tensor a weights file holds for this network (parameters and batch-norm
  // statistics), as PfldNet names them.
  std::vector<std::pair<std::string, Shape>> tensors() const {
    std::vector<std::pair<std::string, Shape>> out;
    for (const ConvUnit* u : conv_units()) {
      out.emplace_back(u->name + ".conv.weight", Shape{u->out, u->kernel, u->kernel, u->in / u->groups});
      for (const char* t : {".bn.weight", ".bn.bias", ".bn.running_mean", ".bn.running_var"})
        out.emplace_back(u->name + t, Shape{u->out});
    }
    out.emplace_back("fc.weight", Shape{fc_out, fc_in});
    out.emplace_back("fc.bias", Shape{fc_out});
    return out;
  }

 private:
  void add_stage(const std::string& name, int count, int in, int out, int first_stride, int expansion, Activation act) {
    for (int i = 0; i < count; ++i) {
      const bool first = i == 0;
      blocks.push_back(BottleneckUnit::make(name + "." + std::to_string(i), first ? in : out, out,
                                            first ? first_stride : 1, expansion, !first, act));
    }
  }
};

}  // namespace pfld::model
