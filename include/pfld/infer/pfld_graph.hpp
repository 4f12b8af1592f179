// pfld's own network on the inference runtime, built from its description (model/architecture.hpp)
// and its tensors by name, from a model file (load_inference_graph) or a trainable network
// (model/inference_graph.hpp): each conv + batch norm folded (fold_batch_norm) into one GraphNet
// convolution with its activation and residual add in the epilogue; the three scales written straight
// into the fc layer's input (the global poolings and conv8 into channel views of it: no concatenation
// copy); the stem (3 input channels) convolved directly. The graph's passes then pad pitches and run
// the depthwise layers in place (graph_net.hpp). An int8 network (infer/pfld_int8.hpp) runs its units
// on byte activations: the crop quantized for conv1, the outputs the head reads (the blocks', conv7's,
// conv8's) dequantized into it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../core/compilation.hpp"
#include "../core/cpu.hpp"
#include "../io/model_file.hpp"
#include "../io/pfld_weights.hpp"
#include "../model/architecture.hpp"
#include "fold.hpp"
#include "graph_net.hpp"
#include "pfld_int8.hpp"

namespace pfld {
inline namespace infer {

namespace detail_pfld_graph {

// A block whose expanded tensor is too big to stay in L2 between its expand and its depthwise (the
// 1X's 56x56x128, 1.8 MB with its pitch) runs them one group of channels at a time: each group's
// expanded part (at most kGroupBytes) is read back from L2 by its depthwise, which writes its slice
// of the filtered tensor; the project then reads the whole. The input is read once per group.
constexpr std::size_t kExpandedInL2 = std::size_t{1} << 20;
constexpr std::size_t kGroupBytes = std::size_t{512} << 10;

// The group count for a pointwise expand of `channels` over `pixels` pixels (0: run whole): the fewest
// groups of equal width, a multiple of 16 channels, whose expanded part (with a padded pitch where the
// width is a multiple of 128) fits kGroupBytes.
inline int channel_groups(std::size_t pixels, int channels) {
  auto pitch = [](int c) { return static_cast<std::size_t>(c % 128 == 0 ? c + 16 : c); };
  if (pixels * pitch(channels) * sizeof(float) <= kExpandedInL2) return 0;
  for (int count = 2; count <= channels / 16; ++count) {
    const int width = channels / count;
    if (channels % count == 0 && width % 16 == 0 && pixels * pitch(width) * sizeof(float) <= kGroupBytes) return count;
  }
  return 0;
}

inline ConvGeometry geometry_of(const model::ConvUnit& u, const GraphNet::Value& x) {
  ConvGeometry g;
  g.in_h = x.h, g.in_w = x.w, g.in_c = u.in, g.out_c = u.out;
  g.kernel_h = g.kernel_w = u.kernel;
  g.stride_h = g.stride_w = u.stride;
  g.pad_h = g.pad_w = u.padding;
  g.groups = u.groups;
  return g;
}

// Output channels [c0, c1) of a conv + batch norm + activation unit (all when c1 < 0; a depthwise unit
// keeps the same input channels) as a GraphNet convolution of x, written into `into` when not null.
// The output is named after the unit (for calibration: GraphNet::observe).
inline GraphNet::Value add_unit(GraphNet& g, const model::ConvUnit& u, const model::PfldTensorLookup& tensor,
                                const GraphNet::Value& x, const GraphNet::Value* residual = nullptr,
                                const GraphNet::Value* into = nullptr, int c0 = 0, int c1 = -1) {
  ConvGeometry geometry = geometry_of(u, x);
  const bool depthwise = geometry.is_depthwise();
  FoldedUnit f = fold_conv_unit(u, tensor, c0, c1);
  geometry.out_c = static_cast<int>(f.bias.size());
  if (depthwise) geometry.in_c = geometry.groups = geometry.out_c;
  const GraphNet::Value y =
      g.add_conv(x, geometry, std::move(f.weights), std::move(f.bias), clamp_of(u.activation), residual, into);
  g.set_name(y, u.name);
  return y;
}

// The same unit in int8 on byte tensor x (and residual), its output's map from its calibrated range.
inline GraphNet::Value add_int8_unit(GraphNet& g, const model::ConvUnit& u, const Int8Network& q,
                                     const GraphNet::Value& x, const GraphNet::Value* residual = nullptr) {
  const Int8Unit& unit = q.unit(u.name);
  return g.add_int8_conv(x, geometry_of(u, x), unit.weights, unit.bias, clamp_of(u.activation),
                         q.ranges.quant_params(u.name), residual);
}

}  // namespace detail_pfld_graph

// The inference graph of the PFLD network `config` describes, its tensors from `tensor` (the batch norms'
// running statistics: the eval-mode network), for `isa`. The graph copies what it needs: the tensors
// may change or go once this returns.
//
// With `int8` (infer/pfld_int8.hpp), its units (PfldArchitecture::int8_units) run in int8 on byte
// activations; `tensor` then needs only the float units' tensors.
inline std::shared_ptr<GraphNet> build_inference_graph(const ModelConfig& config, const model::PfldTensorLookup& tensor,
                                                       Isa isa = active_isa(), const Int8Network* int8 = nullptr) {
  using detail_pfld_graph::add_int8_unit;
  using detail_pfld_graph::add_unit;
  const model::PfldArchitecture arch(config);
  auto g = std::make_shared<GraphNet>(isa);
  const int s = config.input_size;
  const float one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
  GraphNet::Value x = g->set_input(s, s, one, zero);
  if (int8) {
    x = g->add_quantize(x, QuantParams::from_range(arch.kInputLo, arch.kInputHi));
    x = add_int8_unit(*g, arch.conv2, *int8, add_int8_unit(*g, arch.conv1, *int8, x));
    for (const model::BottleneckUnit& b : arch.blocks) {
      const GraphNet::Value expanded = add_int8_unit(*g, b.expand, *int8, x);
      const GraphNet::Value filtered = add_int8_unit(*g, b.depthwise, *int8, expanded);
      x = add_int8_unit(*g, b.project, *int8, filtered, b.residual ? &x : nullptr);
    }
  } else {
    x = add_unit(*g, arch.conv2, tensor, add_unit(*g, arch.conv1, tensor, x));
    for (const model::BottleneckUnit& b : arch.blocks) {
      const int expanded = b.expand.out;
      const bool pointwise = detail_pfld_graph::geometry_of(b.expand, x).is_pointwise();
      const int groups = pointwise ? detail_pfld_graph::channel_groups(x.pixels(), expanded) : 0;
      GraphNet::Value filtered;
      if (groups == 0) {
        filtered = add_unit(*g, b.depthwise, tensor, add_unit(*g, b.expand, tensor, x));
      } else {
        const ConvGeometry dw = detail_pfld_graph::geometry_of(b.depthwise, x);
        filtered = g->add_value(dw.out_h(), dw.out_w(), expanded);
        const int width = expanded / groups;
        for (int c0 = 0; c0 < expanded; c0 += width) {
          const GraphNet::Value part = add_unit(*g, b.expand, tensor, x, nullptr, nullptr, c0, c0 + width);
          const GraphNet::Value slice = g->add_channel_view(filtered, c0, width);
          add_unit(*g, b.depthwise, tensor, part, nullptr, &slice, c0, c0 + width);
        }
      }
      x = add_unit(*g, b.project, tensor, filtered, b.residual ? &x : nullptr);
    }
  }
  // The multi-scale head: S1 (pooled block output), S2 (pooled conv7), S3 (conv8, 1x1) side by side.
  const int s1 = x.c, s2 = arch.conv7.out, s3 = arch.conv8.out;
  detail::require(arch.fc_in == s1 + s2 + s3, "pfld graph: fc takes ", arch.fc_in, " features, the scales give ", s1 + s2 + s3);
  const GraphNet::Value scales = g->add_value(1, 1, s1 + s2 + s3);
  const GraphNet::Value first = g->add_channel_view(scales, 0, s1), second = g->add_channel_view(scales, s1, s2),
                        third = g->add_channel_view(scales, s1 + s2, s3);
  if (int8) {
    g->add_global_average_pool(g->add_dequantize(x), &first);
    const GraphNet::Value conv7 = add_int8_unit(*g, arch.conv7, *int8, x);
    g->add_global_average_pool(g->add_dequantize(conv7), &second);
    g->add_dequantize(add_int8_unit(*g, arch.conv8, *int8, conv7), &third);
  } else {
    g->add_global_average_pool(x, &first);
    const GraphNet::Value conv7 = add_unit(*g, arch.conv7, tensor, x);
    g->add_global_average_pool(conv7, &second);
    add_unit(*g, arch.conv8, tensor, conv7, nullptr, &third);
  }
  const float* fc = tensor("fc.weight").data();  // (2N, 176)
  std::vector<float> w_in_out(static_cast<std::size_t>(arch.fc_in) * arch.fc_out);
  for (int o = 0; o < arch.fc_out; ++o)
    for (int i = 0; i < arch.fc_in; ++i)
      w_in_out[static_cast<std::size_t>(i) * arch.fc_out + o] = fc[static_cast<std::size_t>(o) * arch.fc_in + i];
  const float* bias = tensor("fc.bias").data();
  const GraphNet::Value out =
      g->add_fully_connected(scales, arch.fc_out, w_in_out, std::vector<float>(bias, bias + arch.fc_out));
  g->set_landmarks(out, 1.0f);
  g->finish();
  return g;
}

// The inference graph of a weights or checkpoint file (save_weights, save_checkpoint) or an int8 model
// file (make_int8_model_file), checked against the architecture its config describes first
// (io::require_pfld_tensors). `source` names it in errors.
inline std::shared_ptr<GraphNet> build_inference_graph(const io::ModelFile& file, const std::string& source,
                                                       Isa isa = active_isa()) {
  io::require_pfld_tensors(file, source);
  const model::PfldTensorLookup tensors = [&](const std::string& name) -> const Tensor& { return *file.find(name); };
  if (!io::is_int8_model(file)) return build_inference_graph(file.config, tensors, isa);
  try {
    const Int8Network q = int8_network_of(file);
    return build_inference_graph(file.config, tensors, isa, &q);
  } catch (const Error& e) {
    detail::fail(source, ": ", e.what());
  }
}

// The network in a .pfld weights or checkpoint file (float or int8), ready to run.
PFLD_ENTRY std::shared_ptr<GraphNet> load_inference_graph(const std::string& path, Isa isa = active_isa());

#if PFLD_DEFINE_ENTRIES
PFLD_ENTRY std::shared_ptr<GraphNet> load_inference_graph(const std::string& path, Isa isa) {
  return build_inference_graph(io::ModelFile::load(path), path, isa);
}
#endif

}  // namespace infer
}  // namespace pfld
