// pfld's own network (a trained PfldNet, in eval mode) on the inference runtime: each conv + batch norm
// folded (fold_batch_norm) into one GraphNet convolution with its activation and residual add in the
// epilogue; the three scales written straight into the fc layer's input (the global poolings and conv8
// into channel views of it: no concatenation copy); the stem (3 input channels) convolved directly.
// The graph's passes then pad pitches and run the depthwise layers in place (graph_net.hpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../core/cpu.hpp"
#include "../io/checkpoint.hpp"
#include "../model/pfld_net.hpp"
#include "fold.hpp"
#include "graph_net.hpp"

namespace pfld {

namespace detail_pfld_graph {

// A block whose expanded tensor is too big to stay in L2 between its expand and its depthwise (the
// 1X's 56x56x128, 1.8 MB with its pitch) runs them one group of channels at a time: each group's
// expanded part (at most kGroupBytes) is read back from L2 by its depthwise, which writes its slice
// of the filtered tensor; the project then reads the whole. The input is read once per group.
constexpr std::size_t kExpandedInL2 = std::size_t{1} << 20;
constexpr std::size_t kGroupBytes = std::size_t{512} << 10;

// The group count for an expand of `channels` over `pixels` pixels (0: run whole): the fewest groups
// of equal width, a multiple of 16 channels, whose expanded part (with a padded pitch where the width
// is a multiple of 128) fits kGroupBytes.
inline int channel_groups(std::size_t pixels, int channels, bool pointwise) {
  auto pitch = [](int c) { return static_cast<std::size_t>(c % 128 == 0 ? c + 16 : c); };
  if (!pointwise || pixels * pitch(channels) * sizeof(float) <= kExpandedInL2) return 0;
  for (int count = 2; count <= channels / 16; ++count) {
    const int width = channels / count;
    if (channels % count == 0 && width % 16 == 0 && pixels * pitch(width) * sizeof(float) <= kGroupBytes) return count;
  }
  return 0;
}

// Output channels [c0, c1) of a conv + batch norm + activation unit (all when c1 < 0; a depthwise unit
// keeps the same input channels) as a GraphNet convolution of x, written into `into` when not null.
inline GraphNet::Value add_unit(GraphNet& g, model::ConvBnAct& unit, const GraphNet::Value& x,
                                const GraphNet::Value* residual = nullptr, const GraphNet::Value* into = nullptr,
                                int c0 = 0, int c1 = -1) {
  nn::Conv2d& conv = unit.conv();
  nn::BatchNorm& bn = unit.bn();
  ConvGeometry geometry = conv.geometry(1, x.h, x.w);
  const bool depthwise = geometry.is_depthwise();
  const int all = geometry.out_c;
  if (c1 < 0) c1 = all;
  detail::require(0 <= c0 && c0 < c1 && c1 <= all, "pfld graph: channels [", c0, ", ", c1, ") of ", all);
  const std::size_t per_out = geometry.weight_count() / static_cast<std::size_t>(all);
  std::vector<float> weights(conv.weight().data() + static_cast<std::size_t>(c0) * per_out,
                             conv.weight().data() + static_cast<std::size_t>(c1) * per_out);
  std::vector<float> bias(static_cast<std::size_t>(c1 - c0), 0.0f);
  if (conv.has_bias()) std::copy(conv.bias().data() + c0, conv.bias().data() + c1, bias.begin());
  fold_batch_norm(weights, bias, bn.gamma().data() + c0, bn.beta().data() + c0, bn.running_mean().data() + c0,
                  bn.running_var().data() + c0, bn.eps(), "pfld graph: a batch norm");
  geometry.out_c = c1 - c0;
  if (depthwise) geometry.in_c = geometry.groups = c1 - c0;
  return g.add_conv(x, geometry, std::move(weights), std::move(bias), clamp_of(unit.activation()), residual, into);
}

}  // namespace detail_pfld_graph

// The inference graph of `net` from its eval-mode state (running statistics, not batch statistics) for
// `isa`. The graph shares nothing with `net`: training it further changes nothing here.
inline std::shared_ptr<GraphNet> build_inference_graph(model::PfldNet& net, Isa isa = active_isa()) {
  using detail_pfld_graph::add_unit;
  auto g = std::make_shared<GraphNet>(isa);
  const int s = net.config().input_size;
  const float one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
  GraphNet::Value x = g->set_input(s, s, one, zero);
  x = add_unit(*g, net.conv1(), x);
  x = add_unit(*g, net.conv2(), x);
  for (std::size_t i = 0; i < net.block_count(); ++i) {
    model::InvertedResidual& b = net.block(i);
    const int expanded = b.expand().conv().out_channels();
    const int groups = detail_pfld_graph::channel_groups(x.pixels(), expanded, b.expand().conv().geometry(1, x.h, x.w).is_pointwise());
    GraphNet::Value filtered;
    if (groups == 0) {
      filtered = add_unit(*g, b.depthwise(), add_unit(*g, b.expand(), x));
    } else {
      const int stride = b.depthwise().conv().stride(), pad = b.depthwise().conv().padding(), k = b.depthwise().conv().kernel();
      filtered = g->add_value((x.h + 2 * pad - k) / stride + 1, (x.w + 2 * pad - k) / stride + 1, expanded);
      const int width = expanded / groups;
      for (int c0 = 0; c0 < expanded; c0 += width) {
        const GraphNet::Value part = add_unit(*g, b.expand(), x, nullptr, nullptr, c0, c0 + width);
        const GraphNet::Value slice = g->add_channel_view(filtered, c0, width);
        add_unit(*g, b.depthwise(), part, nullptr, &slice, c0, c0 + width);
      }
    }
    x = add_unit(*g, b.project(), filtered, b.has_residual() ? &x : nullptr);
  }
  // The multi-scale head: S1 (pooled block output), S2 (pooled conv7), S3 (conv8, 1x1) side by side.
  const int s1 = x.c, s2 = net.conv7().conv().out_channels(), s3 = net.conv8().conv().out_channels();
  nn::Linear& fc = net.fc();
  detail::require(fc.in_features() == s1 + s2 + s3, "pfld graph: fc takes ", fc.in_features(),
                  " features, the scales give ", s1 + s2 + s3);
  const GraphNet::Value scales = g->add_value(1, 1, s1 + s2 + s3);
  const GraphNet::Value first = g->add_channel_view(scales, 0, s1), second = g->add_channel_view(scales, s1, s2),
                        third = g->add_channel_view(scales, s1 + s2, s3);
  g->add_global_average_pool(x, &first);
  const GraphNet::Value conv7 = add_unit(*g, net.conv7(), x);
  g->add_global_average_pool(conv7, &second);
  detail::require(conv7.h == net.conv8().conv().kernel() && conv7.w == conv7.h && net.conv8().conv().padding() == 0,
                  "pfld graph: conv8 must reduce conv7's ", conv7.h, "x", conv7.w, " output to 1x1");
  add_unit(*g, net.conv8(), conv7, nullptr, &third);
  std::vector<float> w_in_out(static_cast<std::size_t>(fc.in_features()) * fc.out_features());
  for (int o = 0; o < fc.out_features(); ++o)
    for (int i = 0; i < fc.in_features(); ++i)
      w_in_out[static_cast<std::size_t>(i) * fc.out_features() + o] = fc.weight().data()[static_cast<std::size_t>(o) * fc.in_features() + i];
  const GraphNet::Value out = g->add_fully_connected(scales, fc.out_features(), w_in_out,
                                                     std::vector<float>(fc.bias().data(), fc.bias().data() + fc.out_features()));
  g->set_landmarks(out, 1.0f);
  g->finish();
  return g;
}

// The inference graph of a weights or checkpoint file written by save_weights / save_checkpoint.
inline std::shared_ptr<GraphNet> load_inference_graph(const std::string& path, Isa isa = active_isa()) {
  return build_inference_graph(*io::load_network(path), isa);
}

}  // namespace pfld
