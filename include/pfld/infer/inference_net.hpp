// The fused inference graph of a trained PFLD network: batch norm folded into the convolutions, the
// activation and the residual add done in the producing kernel's epilogue, the three scales written
// straight into the fc layer's input (the global poolings into their slots, conv8 into its own: no
// concatenation copy), weights packed once for the ISA's micro-kernels, the stem (3 input channels)
// convolved directly instead of through im2col.
//
// InferenceNet is immutable once built and safe to share between threads; each thread runs it with its
// own InferenceArena, which holds every activation and is allocated once: a run allocates nothing.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "../core/cpu.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../io/checkpoint.hpp"
#include "../kernels/activation.hpp"
#include "../kernels/conv2d.hpp"
#include "../kernels/depthwise.hpp"
#include "../kernels/direct_conv.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/ref/pooling.hpp"
#include "../model/pfld_net.hpp"
#include "landmark_model.hpp"

namespace pfld {

namespace detail_infer {

// One convolution of the graph with its batch norm folded in: y = clamp(conv(x, w') + b').
struct FusedConv {
  ConvGeometry geometry;          // for one image
  bool depthwise = false;
  bool pointwise = false;         // 1x1, stride 1: the input is already the GEMM's A
  bool direct = false;            // few input channels (the stem): direct convolution, no im2col
  kernels::PackedMatrix packed;   // dense and pointwise: (KH * KW * C_in) x C_out
  kernels::DirectConvWeights direct_weights;
  Tensor depthwise_weights;       // depthwise: (KH * KW, C)
  Tensor bias;
  Clamp clamp;

  double flops() const { return 2.0 * geometry.macs(); }
};

// conv + BN (eval) -> FusedConv, in double so the folded weights round once. [c0, c1): the output
// channels to keep (all by default); a depthwise layer keeps the same input channels.
inline FusedConv fold(Isa isa, model::ConvBnAct& unit, int in_h, int in_w, int c0 = 0, int c1 = -1) {
  nn::Conv2d& conv = unit.conv();
  nn::BatchNorm& bn = unit.bn();
  FusedConv out;
  out.geometry = conv.geometry(1, in_h, in_w);
  out.geometry.validate();
  ConvGeometry& g = out.geometry;
  out.depthwise = g.is_depthwise();
  out.pointwise = !out.depthwise && g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.pad_h == 0;
  detail::require(out.depthwise || g.groups == 1, "InferenceNet: grouped convolution (groups=", g.groups,
                  ") is not supported");
  out.clamp = clamp_of(unit.activation());

  const int all = g.out_c;
  if (c1 < 0) c1 = all;
  detail::require(0 <= c0 && c0 < c1 && c1 <= all, "InferenceNet: channels [", c0, ", ", c1, ") of ", all);
  const std::size_t per_out = g.weight_count() / static_cast<std::size_t>(all);
  std::vector<double> scale(static_cast<std::size_t>(all));
  Tensor bias(Shape{all});
  for (int c = 0; c < all; ++c) {
    const double s = static_cast<double>(bn.gamma()[c]) / std::sqrt(static_cast<double>(bn.running_var()[c]) + bn.eps());
    const double conv_bias = conv.has_bias() ? static_cast<double>(conv.bias()[c]) : 0.0;
    scale[static_cast<std::size_t>(c)] = s;
    bias[c] = static_cast<float>(static_cast<double>(bn.beta()[c]) + (conv_bias - bn.running_mean()[c]) * s);
  }
  std::vector<float> folded(g.weight_count());
  for (int c = 0; c < all; ++c)
    for (std::size_t i = 0; i < per_out; ++i) {
      const std::size_t at = static_cast<std::size_t>(c) * per_out + i;
      folded[at] = static_cast<float>(static_cast<double>(conv.weight().data()[at]) * scale[static_cast<std::size_t>(c)]);
    }

  // Keep [c0, c1): the geometry, bias and weights of those channels only.
  const int out_c = c1 - c0;
  const float* weights = folded.data() + static_cast<std::size_t>(c0) * per_out;
  g.out_c = out_c;
  if (out.depthwise) g.in_c = g.groups = out_c;
  out.bias = Tensor(Shape{out_c});
  std::copy_n(bias.data() + c0, out_c, out.bias.data());
  if (kernels::direct_conv_suits(g)) {
    out.direct = true;
    out.direct_weights = kernels::DirectConvWeights(g, weights, out.bias.data());
  } else if (out.depthwise) {
    const int taps = g.kernel_h * g.kernel_w;
    out.depthwise_weights = Tensor(Shape{taps, out_c});
    for (int c = 0; c < out_c; ++c)
      for (int t = 0; t < taps; ++t)
        out.depthwise_weights.data()[static_cast<std::size_t>(t) * out_c + c] = weights[static_cast<std::size_t>(c) * taps + t];
  } else {
    const int patch = kernels::patch_size(g);
    out.packed = kernels::PackedMatrix(isa, patch, out_c, kernels::transposed(weights, patch));
  }
  return out;
}

}  // namespace detail_infer

class InferenceNet : public LandmarkModel {
 public:
  // Builds the graph from a network's eval-mode state (running statistics, not batch statistics).
  explicit InferenceNet(model::PfldNet& net, Isa isa = active_isa()) : isa_(isa), config_(net.config()) {
    build(net);
  }

  // From a weights or checkpoint file written by save_weights / save_checkpoint.
  static InferenceNet load(const std::string& path, Isa isa = active_isa()) {
    return InferenceNet(*io::load_network(path), isa);
  }

  const ModelConfig& config() const { return config_; }
  Isa isa() const { return isa_; }
  int input_size() const override { return config_.input_size; }
  int landmark_count() const override { return config_.landmarks; }
  // Multiply-adds x 2 of one run: the FLOP count speed is quoted against.
  double flops() const { return flops_; }
  std::size_t arena_floats() const override { return arena_floats_; }

  // Where a run reads its input: the S x S x 3 crop (RGB in [0, 1], NHWC), to be filled by the caller.
  float* input(InferenceArena& arena) const override {
    check_arena(arena, "InferenceNet");
    return arena.data() + input_at_;
  }

  // Runs the network on the crop in input(arena); returns the 2N landmark coordinates (x0, y0, x1, ...,
  // crop units, [0, 1] inside the crop), valid until the arena's next run.
  const float* run(InferenceArena& arena) const override {
    check_arena(arena, "InferenceNet");
    float* base = arena.data();
    float* x = base + ping_at_;
    float* y = base + pong_at_;
    float* concat = base + concat_at_;
    float* stem = stem_lag_ ? y + stem_lag_ : x;  // conv1's output: conv2's input
    conv(stem_[0], base + input_at_, stem, nullptr, base);
    conv(stem_[1], stem, y, nullptr, base);
    std::swap(x, y);
    for (const Block& block : blocks_) {
      float* expanded = base + expand_at_ + block.depthwise_lag;
      float* filtered = block.depthwise_lag ? base + expand_at_ : base + filter_at_;
      if (block.groups.empty()) {
        conv(block.expand, x, expanded, nullptr, base, 0, block.pitch);
        conv(block.depthwise, expanded, filtered, nullptr, base, block.pitch, block.pitch);
      }
      for (const ChannelGroup& group : block.groups) {
        conv(group.expand, x, expanded, nullptr, base, 0, group.pitch);
        conv(group.depthwise, expanded, filtered + group.c0, nullptr, base, group.pitch, block.pitch);
      }
      conv(block.project, filtered, y, block.residual ? x : nullptr, base, block.pitch, 0);
      std::swap(x, y);
    }
    const int s1 = head_[0].geometry.in_c, s2 = head_[0].geometry.out_c;
    average_pool(x, pixels_in(head_[0]), s1, concat);  // S1
    conv(head_[0], x, y, nullptr, base);                // conv7
    average_pool(y, pixels_out(head_[0]), s2, concat + s1);  // S2
    conv(head_[1], y, concat + s1 + s2, nullptr, base);      // conv8 writes S3 in place
    float* out = base + output_at_;
    kernels::gemm_prepacked(1, concat, static_cast<std::size_t>(fc_.rows()), fc_, out, static_cast<std::size_t>(fc_.cols()),
                            fc_epilogue());
    return out;
  }

  using LandmarkModel::run;  // run(crop, arena)

 private:
  using FusedConv = detail_infer::FusedConv;
  // Expanded channels [c0, c0 + width) of a block: their expand and depthwise convolutions.
  struct ChannelGroup {
    FusedConv expand, depthwise;
    int c0 = 0;
    std::size_t pitch = 0;  // of the group's expanded tensor
  };
  struct Block {
    FusedConv expand, depthwise, project;
    bool residual = false;
    std::size_t pitch = 0;  // of the expanded and filtered tensors: padded_pitch(expanded channels)
    std::size_t depthwise_lag = 0;  // > 0: the depthwise runs in place, see in_place_lag
    // Empty, or the block's expand and depthwise in groups of channels: see channel_groups.
    std::vector<ChannelGroup> groups;
  };

  // A block whose expanded tensor is too big to stay in L2 between its expand and its depthwise (the
  // 1X's 56x56x128, 1.8 MB with its pitch) runs them one group of channels at a time: each group's
  // expanded part (at most kGroupBytes) is read back from L2 by its depthwise, which writes its slice
  // of the filtered tensor; the project then reads the whole. The input is read once per group.
  static constexpr std::size_t kExpandedInL2 = std::size_t{1} << 20;
  static constexpr std::size_t kGroupBytes = std::size_t{512} << 10;
  // The group count for a block (0: run whole): the fewest groups of equal width, a multiple of 16
  // channels, whose expanded part fits kGroupBytes.
  static int channel_groups(const Block& block) {
    const std::size_t pixels = pixels_out(block.expand);
    const int channels = block.expand.geometry.out_c;
    if (!block.expand.pointwise || pixels * block.pitch * sizeof(float) <= kExpandedInL2) return 0;
    for (int count = 2; count <= channels / 16; ++count) {
      const int width = channels / count;
      if (channels % count == 0 && width % 16 == 0 && pixels * padded_pitch(width) * sizeof(float) <= kGroupBytes)
        return count;
    }
    return 0;
  }

  // Floats from one pixel to the next in a block's expanded and filtered tensors. With a channel count
  // that is a multiple of 128 (a 512-byte multiple), a given channel of every pixel falls on the same
  // few L1 sets: at 512 channels (2 KB), a 3x3 depthwise's three input rows need twice the 12 ways
  // there are, and a GEMM's 12 A rows crowd two sets. One cache line more spreads them over all sets.
  static std::size_t padded_pitch(int channels) {
    const std::size_t c = static_cast<std::size_t>(channels);
    return channels % 128 == 0 ? c + 16 : c;
  }

  // A stride-1 depthwise layer can write its output over its own input, lagging behind: output row oy
  // reads no input row before oy - pad_h, and the kernels produce rows in order, so it may store row oy
  // where input row oy - pad_h - 1 was (the last row that output row oy - 1 read). Its output then goes
  // to cache lines the layer has just read, not to cold ones that every store would first have to fetch
  // (the 1X's conv2, 56x56x64: 61 -> 39 us; its 14x14x512 depthwise layers 19 -> 17 us). Returns the
  // floats by which the input starts after the output (pad_h + 1 rows of the same pitch), or 0 for a
  // layer that cannot run in place.
  static std::size_t in_place_lag(const FusedConv& c, std::size_t pitch) {
    const ConvGeometry& g = c.geometry;
    if (!c.depthwise || g.stride_h != 1 || g.stride_w != 1 || g.batch != 1) return 0;
    return static_cast<std::size_t>(g.pad_h + 1) * static_cast<std::size_t>(g.in_w) * pitch;
  }

  static std::size_t pixels_in(const FusedConv& c) { return static_cast<std::size_t>(c.geometry.in_h) * c.geometry.in_w; }
  static std::size_t pixels_out(const FusedConv& c) {
    return static_cast<std::size_t>(c.geometry.out_h()) * c.geometry.out_w();
  }
  static std::size_t in_size(const FusedConv& c) { return pixels_in(c) * c.geometry.in_c; }
  static std::size_t out_size(const FusedConv& c) { return pixels_out(c) * c.geometry.out_c; }

  kernels::GemmEpilogue fc_epilogue() const {
    kernels::GemmEpilogue e;
    e.bias = fc_bias_.data();
    return e;
  }

  // y = c(x) (+ residual); x_pitch and y_pitch: floats between pixels, 0 for dense (the channel count).
  void conv(const FusedConv& c, const float* x, float* y, const float* residual, float* base,
            std::size_t x_pitch = 0, std::size_t y_pitch = 0) const {
    const ConvGeometry& g = c.geometry;
    if (c.depthwise) {
      kernels::depthwise_forward_fused(isa_, g, x, c.depthwise_weights.data(), c.bias.data(), c.clamp, y, x_pitch,
                                       y_pitch);
      return;
    }
    if (c.direct) {  // (the stem: no residual)
      kernels::direct_conv_forward(isa_, g, x, c.direct_weights, c.clamp, y);
      return;
    }
    kernels::GemmEpilogue e;
    e.bias = c.bias.data();
    e.lo = c.clamp.lo;
    e.hi = c.clamp.hi;
    e.residual = residual;
    e.residual_stride = static_cast<std::size_t>(g.out_c);
    const float* a = x;
    if (!c.pointwise) {
      float* columns = base + columns_at_;
      kernels::im2col(g, x, columns, nullptr);
      a = columns;
    }
    const std::size_t lda = c.pointwise && x_pitch ? x_pitch : static_cast<std::size_t>(c.packed.rows());
    const std::size_t ldc = y_pitch ? y_pitch : static_cast<std::size_t>(g.out_c);
    kernels::gemm_prepacked(static_cast<int>(pixels_out(c)), a, lda, c.packed, y, ldc, e);
  }

  static void average_pool(const float* x, std::size_t pixels, int channels, float* out) {
    kernels::ref::global_avg_pool_forward(1, static_cast<int>(pixels), channels, x, out);
  }

  void build(model::PfldNet& net) {
    using detail_infer::fold;
    const int s = config_.input_size;
    stem_.push_back(fold(isa_, net.conv1(), s, s));
    stem_.push_back(fold(isa_, net.conv2(), stem_[0].geometry.out_h(), stem_[0].geometry.out_w()));
    int h = stem_[1].geometry.out_h(), w = stem_[1].geometry.out_w();
    for (std::size_t i = 0; i < net.block_count(); ++i) {
      model::InvertedResidual& b = net.block(i);
      Block block;
      block.expand = fold(isa_, b.expand(), h, w);
      block.depthwise = fold(isa_, b.depthwise(), h, w);
      block.project = fold(isa_, b.project(), block.depthwise.geometry.out_h(), block.depthwise.geometry.out_w());
      block.residual = b.has_residual();
      const int expanded = block.expand.geometry.out_c;  // (im2col reads dense pixels: pad only 1x1 neighbours)
      block.pitch = block.expand.pointwise && block.project.pointwise ? padded_pitch(expanded)
                                                                      : static_cast<std::size_t>(expanded);
      const int groups = channel_groups(block);
      for (int g = 0; g < groups; ++g) {
        ChannelGroup group;
        const int width = expanded / groups;
        group.c0 = g * width;
        group.expand = fold(isa_, b.expand(), h, w, group.c0, group.c0 + width);
        group.depthwise = fold(isa_, b.depthwise(), h, w, group.c0, group.c0 + width);
        group.pitch = padded_pitch(width);
        block.groups.push_back(std::move(group));
      }
      if (block.groups.empty()) block.depthwise_lag = in_place_lag(block.depthwise, block.pitch);
      h = block.project.geometry.out_h();
      w = block.project.geometry.out_w();
      blocks_.push_back(std::move(block));
    }
    head_.push_back(fold(isa_, net.conv7(), h, w));
    head_.push_back(fold(isa_, net.conv8(), head_[0].geometry.out_h(), head_[0].geometry.out_w()));
    detail::require(pixels_out(head_[1]) == 1, "InferenceNet: conv8 must reduce to 1x1");
    nn::Linear& fc = net.fc();
    fc_ = kernels::PackedMatrix(isa_, fc.in_features(), fc.out_features(), kernels::transposed(fc.weight().data(), fc.in_features()));
    fc_bias_ = fc.bias().clone();
    detail::require(fc.in_features() == head_[0].geometry.in_c + head_[0].geometry.out_c + head_[1].geometry.out_c,
                    "InferenceNet: fc takes ", fc.in_features(), " features, the scales give a different count");

    // Arena: input, two ping-pong tensors for block inputs/outputs (the second also holds conv1's
    // output, stem_lag_ floats after conv2's, which runs in place), the expanded and filtered tensors of
    // a block (the filtered one inside the expanded one's space when its depthwise runs in place), im2col
    // columns, the concatenated scales, the output. 16-float alignment for each.
    stem_lag_ = in_place_lag(stem_[1], static_cast<std::size_t>(stem_[1].geometry.in_c));
    std::size_t ping = out_size(stem_[0]), expand = 0, filter = 0, columns = 0;
    auto columns_of = [](const FusedConv& c) {
      return c.depthwise || c.pointwise || c.direct ? std::size_t{0} : pixels_out(c) * static_cast<std::size_t>(c.packed.rows());
    };
    flops_ = 0.0;
    for (const FusedConv* c : {&stem_[0], &stem_[1], &head_[0], &head_[1]}) {
      ping = std::max(ping, out_size(*c));
      columns = std::max(columns, columns_of(*c));
      flops_ += c->flops();
    }
    for (const Block& b : blocks_) {
      ping = std::max(ping, out_size(b.project));
      expand = std::max(expand, pixels_out(b.expand) * (b.groups.empty() ? b.pitch : b.groups[0].pitch) + b.depthwise_lag);
      if (!b.depthwise_lag) filter = std::max(filter, pixels_out(b.depthwise) * b.pitch);
      flops_ += b.expand.flops() + b.depthwise.flops() + b.project.flops();
    }
    flops_ += 2.0 * fc.in_features() * fc.out_features();
    auto place = [this](std::size_t floats) {
      const std::size_t at = arena_floats_;
      arena_floats_ += aligned(floats);
      return at;
    };
    input_at_ = place(static_cast<std::size_t>(s) * s * 3);
    ping_at_ = place(ping);
    pong_at_ = place(std::max(ping, out_size(stem_[0]) + stem_lag_));
    expand_at_ = place(expand);
    filter_at_ = place(filter);
    columns_at_ = place(columns);
    concat_at_ = place(static_cast<std::size_t>(fc.in_features()));
    output_at_ = place(static_cast<std::size_t>(fc.out_features()));
    gather_onto_huge_pages(weight_tensors());
  }

  // Every tensor of weights and biases, in the order the run reads them.
  std::vector<Tensor*> weight_tensors() {
    std::vector<Tensor*> out;
    auto add = [&out](FusedConv& c) {
      for (Tensor* t : {&c.packed.storage(), &c.depthwise_weights, &c.bias}) out.push_back(t);
      for (Tensor* t : c.direct_weights.storage()) out.push_back(t);
    };
    for (FusedConv& c : stem_) add(c);
    for (Block& b : blocks_) {
      for (ChannelGroup& g : b.groups) add(g.expand), add(g.depthwise);
      if (b.groups.empty()) add(b.expand), add(b.depthwise);
      add(b.project);
    }
    for (FusedConv& c : head_) add(c);
    out.push_back(&fc_.storage());
    out.push_back(&fc_bias_);
    return out;
  }

  Isa isa_;
  ModelConfig config_;
  std::vector<FusedConv> stem_;  // conv1, conv2
  std::vector<Block> blocks_;
  std::vector<FusedConv> head_;  // conv7, conv8
  kernels::PackedMatrix fc_;
  Tensor fc_bias_;
  double flops_ = 0.0;
  std::size_t stem_lag_ = 0;  // > 0: conv2 runs in place, see in_place_lag
  std::size_t arena_floats_ = 0;
  std::size_t input_at_ = 0, ping_at_ = 0, pong_at_ = 0, expand_at_ = 0, filter_at_ = 0, columns_at_ = 0,
              concat_at_ = 0, output_at_ = 0;
};

}  // namespace pfld
