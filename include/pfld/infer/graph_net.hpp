// pfld's inference runtime: a graph of steps on the shared kernels that runs pfld's own networks
// (infer/pfld_graph.hpp builds them from their description and weights), models imported from ONNX (landmark models,
// the face detector) and anything else an importer can express. NHWC throughout. Convolutions carry
// their bias, activation clamp and residual add in the kernel epilogue; the rest (element-wise add,
// clamp and sigmoid, pooling, upsampling, concatenation, fully connected) are small steps of their own.
//
// A builder adds steps, then finish() runs the scheduling passes and fixes the layout the steps read
// as they run:
//  - padded pitch: a tensor whose channel count is a multiple of 128, touched only by steps that take
//    any pixel pitch (pointwise GEMM, depthwise), gets one cache line more per pixel (pitch_pass);
//  - in place: a stride-1 depthwise convolution writes its output over its input, lagging behind it,
//    when nothing else reads that input (in_place_pass);
//  - one arena: tensors whose lifetimes do not overlap share memory (plan_arena).
// Channel views let steps write slices of a tensor (concatenation without a copy, channel groups).
// Tensors are floats, or bytes for int8 layers (add_byte_value: a QuantParams maps them to reals), which
// only the int8 steps read and write (add_quantize, add_int8_conv, add_dequantize).
// Immutable after finish() and safe to share between threads, each with its own arena.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "../core/cpu.hpp"
#include "../core/error.hpp"
#include "../kernels/activation.hpp"
#include "../kernels/conv2d.hpp"
#include "../kernels/depthwise.hpp"
#include "../kernels/direct_conv.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/int8_depthwise.hpp"
#include "../kernels/int8_gemm.hpp"
#include "int8_quantization.hpp"
#include "landmark_model.hpp"

namespace pfld {
inline namespace infer {

class GraphNet : public LandmarkModel {
 public:
  // A tensor of the graph: H x W x C (H = W = 1 for vectors); `id` names it in the Layout, which fixes
  // its place in the arena and its pitch at finish(). Aliases of the same data (a flatten of a vector)
  // share the id.
  struct Value {
    int h = 1, w = 1, c = 1;
    int id = -1;
    std::size_t pixels() const { return static_cast<std::size_t>(h) * w; }
    std::size_t size() const { return pixels() * static_cast<std::size_t>(c); }
  };

  // Where each tensor is in the arena, and the floats from one of its pixels to the next (its channel
  // count, or more: a padded pitch, or a channel view's parent's). Fixed by finish(); steps read it as
  // they run, so the passes can change it after the steps are built.
  struct Layout {
    std::vector<std::size_t> offset, pitch;
    float* at(float* base, const Value& v) const { return base + offset[static_cast<std::size_t>(v.id)]; }
    // A byte tensor's memory (add_byte_value): at the same place, `pitch` bytes from pixel to pixel.
    std::uint8_t* bytes(float* base, const Value& v) const { return reinterpret_cast<std::uint8_t*>(at(base, v)); }
    std::size_t pitch_of(const Value& v) const { return pitch[static_cast<std::size_t>(v.id)]; }
  };

  // `max_arena_bytes`: building a graph whose activations need more is an Error (a model file cannot
  // make a program allocate more than its user allows).
  explicit GraphNet(Isa isa = active_isa(), std::size_t max_arena_bytes = std::size_t{1} << 30)
      : isa_(isa), max_arena_floats_(max_arena_bytes / sizeof(float)) {}

  Isa isa() const { return isa_; }
  // The input's side for a square input (a landmark model's crop); input_height / input_width in general.
  int input_size() const override { return input_.h == input_.w ? input_.h : 0; }
  int input_height() const { return input_.h; }
  int input_width() const { return input_.w; }
  int landmark_count() const override { return landmarks_; }
  std::size_t arena_floats() const override {
    require_finished();
    return arena_floats_;
  }
  double flops() const { return flops_; }
  // The floats of every tensor together (dense, no view counted): what the arena would take if none
  // shared memory.
  std::size_t tensor_floats() const {
    std::size_t sum = 0;
    for (const TensorInfo& t : tensors_)
      if (t.parent < 0) sum += aligned(arena_floats_for(t, t.value.size()));
    return sum;
  }
  // What the passes did: tensors given a padded pitch, depthwise steps run in place.
  int padded_tensors() const { return padded_; }
  int in_place_steps() const { return in_place_; }

  float* input(InferenceArena& arena) const override {
    require_finished();
    check_arena(arena, "GraphNet");
    return layout_.at(arena.data(), input_);
  }

  // Runs every step on the input in input(arena); the outputs stay valid until the arena's next run. The
  // run consumes the input (its memory holds later tensors once it is read): fill it before each run.
  void run_graph(InferenceArena& arena) const {
    require_finished();
    check_arena(arena, "GraphNet");
    float* base = arena.data();
    for (const Step& step : steps_) step.run(base, layout_);
  }

 protected:
  const float* forward(InferenceArena& arena) const override {
    detail::require(landmarks_ > 0, "GraphNet: the graph has no landmark output");
    run_graph(arena);
    return layout_.at(arena.data(), landmarks_value_);
  }

 public:
  // Where a run's time goes: each step's description, its share of the graph's flops and its median
  // time over `runs` runs of the input in input(arena) (restored before each run, untimed). For tuning
  // (pfld_bench --profile).
  struct StepTime {
    std::string what;
    double flops = 0.0;
    double seconds = 0.0;
  };
  std::vector<StepTime> profile(InferenceArena& arena, int runs) const {
    require_finished();
    check_arena(arena, "GraphNet");
    detail::require(runs > 0, "GraphNet::profile: runs must be positive");
    float* base = arena.data();
    std::vector<std::vector<double>> seconds(steps_.size());
    const std::vector<float> input(layout_.at(base, input_), layout_.at(base, input_) + input_.size());
    for (int r = 0; r < runs; ++r) {
      std::copy(input.begin(), input.end(), layout_.at(base, input_));
      for (std::size_t s = 0; s < steps_.size(); ++s) {
        const auto t0 = std::chrono::steady_clock::now();
        steps_[s].run(base, layout_);
        seconds[s].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    }
    std::vector<StepTime> times;
    for (std::size_t s = 0; s < steps_.size(); ++s) {
      std::nth_element(seconds[s].begin(), seconds[s].begin() + runs / 2, seconds[s].end());
      times.push_back({steps_[s].what, steps_[s].flops, seconds[s][static_cast<std::size_t>(runs / 2)]});
    }
    return times;
  }

  // A named output of the last run (e.g. an ONNX graph output), NHWC, dense.
  const float* output(InferenceArena& arena, const std::string& name, Value* shape = nullptr) const {
    require_finished();
    for (const auto& [n, v] : outputs_)
      if (n == name) {
        if (shape) *shape = v;
        return layout_.at(arena.data(), v);
      }
    detail::fail("GraphNet: no output named '", name, "'");
  }

  // ---- Building (builders and importers only) ----

  // A new tensor. Its place in the arena and its pitch are fixed by finish().
  Value add_value(int h, int w, int c) {
    require_building();
    detail::require(h > 0 && w > 0 && c > 0, "GraphNet: empty tensor ", h, "x", w, "x", c);
    const Value v{h, w, c, static_cast<int>(tensors_.size())};
    detail::require(v.size() / static_cast<std::size_t>(c) / static_cast<std::size_t>(w) == static_cast<std::size_t>(h) &&
                        aligned(v.size()) <= max_arena_floats_,
                    "GraphNet: a ", h, "x", w, "x", c, " tensor takes the activations past the arena budget of ",
                    max_arena_floats_ * sizeof(float), " bytes");
    tensors_.push_back({v, -1, 0, false, {}, {}});
    return v;
  }

  // A new tensor of bytes q, the real values scale (q - zero) of `quant`: an int8 layer's input or
  // output. Only the int8 steps (add_quantize, add_int8_conv, add_dequantize) read or write one.
  Value add_byte_value(int h, int w, int c, const QuantParams& quant) {
    const Value v = add_value(h, w, c);
    tensors_.back().bytes = true;
    tensors_.back().quant = quant;
    return v;
  }
  // The byte map of a byte tensor; null for a float one.
  const QuantParams* quantization(const Value& v) const {
    const TensorInfo& t = tensors_[static_cast<std::size_t>(v.id)];
    return t.bytes ? &t.quant : nullptr;
  }

  // Names a tensor or channel view for observe() (a layer's output by the name calibration records its
  // range under); several may share a name (the parts of a layer split into channel groups).
  void set_name(const Value& v, std::string name) {
    require_building();
    tensors_[static_cast<std::size_t>(v.id)].name = std::move(name);
  }

  // Runs the graph on the input in input(arena), like run_graph, calling seen(name, data, value, pitch)
  // for the input if named, then for each named float tensor or view once the last step that writes it
  // (or a view of it) has run (its floats are then complete, `pitch` floats from pixel to pixel). For
  // calibration: it observes the tensors a plain run does not keep.
  void observe(InferenceArena& arena,
               const std::function<void(const std::string&, const float*, const Value&, std::size_t)>& seen) const {
    require_finished();
    check_arena(arena, "GraphNet");
    float* base = arena.data();
    if (const TensorInfo& in = tensors_[static_cast<std::size_t>(input_.id)]; !in.name.empty())  // (no step writes it)
      seen(in.name, layout_.at(base, input_), input_, layout_.pitch_of(input_));
    for (std::size_t s = 0; s < steps_.size(); ++s) {
      steps_[s].run(base, layout_);
      for (int id : last_writes_[s]) {
        const TensorInfo& t = tensors_[static_cast<std::size_t>(id)];
        seen(t.name, layout_.at(base, t.value), t.value, layout_.pitch[static_cast<std::size_t>(id)]);
      }
    }
  }

  // Channels [first, first + count) of x, in x's memory: a step that writes the view writes that slice of
  // x (a concatenation's part, a channel group's output). A view of more than one pixel may only be
  // touched by steps that take any pitch (convolutions whose `pitched` is true).
  Value add_channel_view(const Value& x, int first, int count) {
    require_building();
    detail::require(first >= 0 && count > 0 && first <= x.c - count, "GraphNet: channels ", first, " to ",
                    first + count, " of a tensor of ", x.c);
    const TensorInfo& parent = tensors_[static_cast<std::size_t>(x.id)];
    detail::require(!parent.bytes, "GraphNet: a channel view of a byte tensor");
    const Value v{x.h, x.w, count, static_cast<int>(tensors_.size())};
    tensors_.push_back({v, parent.parent < 0 ? x.id : parent.parent, parent.channel + first, false, {}, {}});
    return v;
  }

  // The input (height x width x 3, NHWC, as the caller fills it) and the affine map into the network's
  // input: x * scale[c] + shift[c] (none when that is the identity: the input is the network's).
  Value set_input(int height, int width, const float scale[3], const float shift[3]) {
    input_ = add_value(height, width, 3);
    const std::array<float, 3> a{scale[0], scale[1], scale[2]}, b{shift[0], shift[1], shift[2]};
    if (a == std::array<float, 3>{1, 1, 1} && b == std::array<float, 3>{0, 0, 0}) return input_;
    const Value in = add_value(height, width, 3);
    const Value crop = input_;
    add_step("input affine", {crop}, {in}, [crop, in, a, b](float* base, const Layout& L) {
      const float* x = L.at(base, crop);
      float* y = L.at(base, in);
      for (std::size_t i = 0; i < crop.size(); i += 3)
        for (std::size_t c = 0; c < 3; ++c) y[i + c] = x[i + c] * a[c] + b[c];
    });
    return in;
  }

  // Convolution with weights OHWI (out, kh, kw, in / groups), bias per output channel, then the clamp;
  // `residual` (may be null) is added before the clamp. `into` (may be null): a tensor or channel view
  // of the output's shape to write instead of a new tensor.
  Value add_conv(const Value& x, ConvGeometry g, std::vector<float> weights, std::vector<float> bias, Clamp clamp,
                 const Value* residual, const Value* into = nullptr) {
    require_floats(x, "a convolution");
    if (residual) require_floats(*residual, "a convolution's residual");
    g.batch = 1;
    g.in_h = x.h, g.in_w = x.w;
    detail::require(g.in_c == x.c, "GraphNet: conv expects ", g.in_c, " channels, its input has ", x.c);
    g.validate();
    detail::require(weights.size() == g.weight_count() && bias.size() == static_cast<std::size_t>(g.out_c),
                    "GraphNet: conv weights or bias of the wrong size");
    const Value y = into ? *into : add_value(g.out_h(), g.out_w(), g.out_c);
    detail::require(y.h == g.out_h() && y.w == g.out_w() && y.c == g.out_c, "GraphNet: conv output ", g.out_h(), "x",
                    g.out_w(), "x", g.out_c, " written into a ", y.h, "x", y.w, "x", y.c, " tensor");
    const std::vector<Value> reads = conv_reads(g, x, y, residual);
    const Value res = residual ? *residual : Value{};
    const bool has_res = residual != nullptr;
    const auto b = keep(bias);
    const Isa isa = isa_;
    const std::string shape = detail::cat(g.kernel_h, "x", g.kernel_w, "/", g.stride_h, " ");
    const std::string where = detail::cat(has_res ? " +res" : "", ", ", y.h, "x", y.w);
    if (g.is_depthwise() && g.kernel_h * g.kernel_w <= 64) {
      const auto wt = keep_depthwise(g, weights);
      add_step(
          detail::cat("depthwise ", shape, g.out_c, where), reads, {y},
          [=](float* base, const Layout& L) {
            float* out = L.at(base, y);
            kernels::depthwise_forward_fused(isa, g, L.at(base, x), wt->data(), b->data(), has_res ? Clamp{} : clamp,
                                             out, L.pitch_of(x), L.pitch_of(y));
            if (has_res) kernels::kernel_table(isa).add_clamped(y.size(), out, L.at(base, res), out, clamp.lo, clamp.hi);
          },
          /*pitched=*/!has_res,
          /*in_place_rows=*/!has_res && g.stride_h == 1 && g.stride_w == 1 ? g.pad_h + 1 : 0);
      return y;
    }
    detail::require(g.groups == 1, "GraphNet: grouped convolution (groups=", g.groups, ") is not supported");
    if (kernels::direct_conv_suits(g)) {
      auto packed = std::make_shared<kernels::DirectConvWeights>(g, weights.data(), b->data());
      for (Tensor* t : packed->storage()) weights_.push_back(std::shared_ptr<Tensor>(packed, t));
      add_step(detail::cat("conv direct ", shape, g.in_c, "->", g.out_c, where), reads, {y},
               [=](float* base, const Layout& L) {
                 float* out = L.at(base, y);
                 kernels::direct_conv_forward(isa, g, L.at(base, x), *packed, has_res ? Clamp{} : clamp, out);
                 if (has_res) kernels::kernel_table(isa).add_clamped(y.size(), out, L.at(base, res), out, clamp.lo, clamp.hi);
               });
      return y;
    }
    const int patch = kernels::patch_size(g);
    auto packed = std::make_shared<kernels::PackedMatrix>(isa, patch, g.out_c, kernels::transposed(weights.data(), patch));
    weights_.push_back(std::shared_ptr<Tensor>(packed, &packed->storage()));
    const bool pointwise = g.is_pointwise();
    std::vector<Value> writes{y};
    Value columns;  // the im2col patches: scratch of this step alone
    if (!pointwise) writes.push_back(columns = add_value(y.h * y.w, patch, 1));
    add_step(
        detail::cat("conv gemm ", shape, g.in_c, "->", g.out_c, where), reads, writes,
        [=](float* base, const Layout& L) {
          const float* a = L.at(base, x);
          std::size_t lda = L.pitch_of(x);
          if (!pointwise) {
            kernels::im2col(g, a, L.at(base, columns), nullptr);
            a = L.at(base, columns);
            lda = static_cast<std::size_t>(patch);
          }
          kernels::GemmEpilogue e;
          e.bias = b->data();
          e.lo = clamp.lo;
          e.hi = clamp.hi;
          if (has_res) {
            e.residual = L.at(base, res);
            e.residual_stride = L.pitch_of(res);
          }
          kernels::gemm_prepacked(y.h * y.w, a, lda, *packed, L.at(base, y), L.pitch_of(y), e);
        },
        /*pitched=*/pointwise,
        /*in_place_rows=*/pointwise && !has_res && g.in_c == g.out_c
            ? (kernels::gemm_rows_in_flight(y.h * y.w, *packed) + y.w - 1) / y.w : 0);
    return y;
  }

  // A depthwise convolution (weights OHWI, bias, clamp) and the 2x2, stride-2 max pool after it as one
  // step whose full-resolution output is never stored (kernels::depthwise_max_pool_rows); requires
  // kernels::depthwise_max_pool_suits(g) for x's size.
  Value add_depthwise_max_pool(const Value& x, ConvGeometry g, const std::vector<float>& weights,
                               const std::vector<float>& bias, Clamp clamp) {
    require_floats(x, "a depthwise convolution");
    g.batch = 1;
    g.in_h = x.h, g.in_w = x.w;
    detail::require(g.in_c == x.c && kernels::depthwise_max_pool_suits(g) && weights.size() == g.weight_count() &&
                        bias.size() == static_cast<std::size_t>(g.out_c),
                    "GraphNet: depthwise + max pool needs a 3x3, stride-1, padding-1 layer of 16k channels, an even "
                    "output size and its weights");
    const Value y = add_value(g.out_h() / 2, g.out_w() / 2, g.out_c);
    const Value scratch = add_value(2, g.out_w(), g.out_c);  // a pair of the layer's rows: this step's alone
    flops_ += 2.0 * g.macs();
    const auto wt = keep_depthwise(g, weights);
    const auto b = keep(bias);
    const Isa isa = isa_;
    add_step(detail::cat("depthwise 3x3/1 ", g.out_c, " + max pool 2x2/2, ", y.h, "x", y.w), {x}, {y, scratch},
             [=](float* base, const Layout& L) {
               kernels::kernel_table(isa).depthwise_max_pool_rows(g, L.at(base, x), L.pitch_of(x), wt->data(), b->data(),
                                                                  clamp, L.at(base, scratch), L.at(base, y), 0,
                                                                  static_cast<std::size_t>(y.h));
             });
    return y;
  }

  // ---- int8 (infer/int8_quantization.hpp: the maps and the requantization) ----

  // The bytes of float x under `quant` (round to nearest even, clamped to [0, 255]).
  Value add_quantize(const Value& x, const QuantParams& quant) {
    require_floats(x, "quantize");
    const Value y = add_byte_value(x.h, x.w, x.c, quant);
    const Isa isa = isa_;
    const float inv_scale = static_cast<float>(1.0 / quant.scale), zero = static_cast<float>(quant.zero);
    add_step(detail::cat("quantize ", x.c, ", ", x.h, "x", x.w), {x}, {y}, [=](float* base, const Layout& L) {
      kernels::kernel_table(isa).quantize_u8(x.size(), L.at(base, x), inv_scale, zero, L.bytes(base, y));
    });
    return y;
  }

  // The floats of byte tensor x: scale (q - zero). `into` (may be null): a float tensor or a view of one
  // pixel (an input of a fully connected layer) of x's shape to write instead of a new tensor.
  Value add_dequantize(const Value& x, const Value* into = nullptr) {
    const QuantParams q = require_bytes(x, "dequantize");
    const Value y = into ? *into : add_value(x.h, x.w, x.c);
    require_floats(y, "dequantize into");
    detail::require(y.h == x.h && y.w == x.w && y.c == x.c, "GraphNet: dequantize of a ", x.h, "x", x.w, "x", x.c,
                    " tensor into a ", y.h, "x", y.w, "x", y.c, " one");
    const Isa isa = isa_;
    add_step(detail::cat("dequantize ", x.c, ", ", x.h, "x", x.w), {x}, {y}, [=](float* base, const Layout& L) {
      kernels::kernel_table(isa).dequantize_u8(x.size(), L.bytes(base, x), q.scale, static_cast<float>(q.zero),
                                               L.at(base, y));
    });
    return y;
  }

  // The int8 form of add_conv: byte tensor x, int8 weights OHWI (quantize_weights: per output channel)
  // and a float bias, the output's map `out`, the clamp in real units; `residual` (may be null) a byte
  // tensor of the output's shape added before the clamp. Dense layers run on the int8 GEMM (pointwise
  // ones on x itself, a layer whose kernel covers the whole unpadded input as one row of it: PFLD's
  // conv8, others on x's im2col: a stem); 3x3 depthwise layers of stride 1 or 2 on the int8 depthwise
  // kernel.
  Value add_int8_conv(const Value& x, ConvGeometry g, const Int8Weights& w8, const std::vector<float>& bias,
                      Clamp clamp, const QuantParams& out, const Value* residual) {
    const QuantParams in = require_bytes(x, "an int8 convolution");
    g.batch = 1;
    g.in_h = x.h, g.in_w = x.w;
    detail::require(g.in_c == x.c, "GraphNet: int8 conv expects ", g.in_c, " channels, its input has ", x.c);
    g.validate();
    detail::require(w8.n == g.out_c && static_cast<std::size_t>(w8.n) * static_cast<std::size_t>(w8.k) == g.weight_count() &&
                        w8.values.size() == g.weight_count() && w8.scales.size() == static_cast<std::size_t>(g.out_c) &&
                        bias.size() == static_cast<std::size_t>(g.out_c),
                    "GraphNet: int8 conv weights or bias of the wrong size");
    const bool whole = g.groups == 1 && g.kernel_h == x.h && g.kernel_w == x.w && g.pad_h == 0 && g.pad_w == 0;
    const bool depthwise = g.is_depthwise() && g.kernel_h == 3 && g.kernel_w == 3;
    detail::require(g.groups == 1 || depthwise, "GraphNet: an int8 ", g.kernel_h, "x", g.kernel_w, " convolution of ",
                    g.groups, " groups (only dense and 3x3 depthwise layers run in int8)");
    const Value y = add_byte_value(g.out_h(), g.out_w(), g.out_c, out);
    const QuantParams res_quant = residual ? require_bytes(*residual, "an int8 residual") : QuantParams{};
    const std::vector<Value> reads = conv_reads(g, x, y, residual);
    const Value res = residual ? *residual : Value{};
    const bool has_res = residual != nullptr;
    const std::string where = detail::cat(has_res ? " +res" : "", ", ", y.h, "x", y.w);
    const Isa isa = isa_;
    if (!depthwise) {
      // A whole-input layer is one row of the GEMM: x's pixels in order are its OHWI weights' order, as
      // they are in a row of the im2col.
      const bool pointwise = g.is_pointwise(), im2col = !pointwise && !whole;
      const int k = w8.k, m = whole ? 1 : y.h * y.w;
      auto packed = std::make_shared<const kernels::Int8PackedMatrix>(g.out_c, k, w8.values.data());
      auto requant = std::make_shared<const Int8LayerRequant>(make_int8_requant(
          in, w8, packed->column_sums().data(), bias.data(), out, clamp, has_res ? &res_quant : nullptr));
      std::vector<Value> writes{y};
      Value columns;  // the im2col patches: scratch of this step alone
      if (im2col) writes.push_back(columns = add_byte_value(m, k, 1, in));
      const std::uint8_t pad = static_cast<std::uint8_t>(in.zero);
      add_step(detail::cat("int8 conv gemm ", g.kernel_h, "x", g.kernel_w, "/", g.stride_h, " ", g.in_c, "->", g.out_c, where),
               reads, writes, [=](float* base, const Layout& L) {
                 if (im2col) kernels::im2col(g, L.bytes(base, x), L.bytes(base, columns), nullptr, pad);
                 const std::uint8_t* a = L.bytes(base, im2col ? columns : x);
                 const std::size_t lda = pointwise ? L.pitch_of(x) : static_cast<std::size_t>(k);  // (rows of k bytes)
                 const kernels::Int8Requantize e =
                     requant->view(has_res ? L.bytes(base, res) : nullptr, has_res ? L.pitch_of(res) : 0);
                 kernels::int8_gemm(isa, m, a, lda, *packed, e, L.bytes(base, y), L.pitch_of(y));
               });
      return y;
    }
    auto packed = std::make_shared<const kernels::Int8DepthwiseWeights>(g, w8.values.data());
    auto requant = std::make_shared<const Int8LayerRequant>(
        make_int8_requant(in, w8, nullptr, bias.data(), out, clamp, has_res ? &res_quant : nullptr));
    add_step(detail::cat("int8 depthwise 3x3/", g.stride_h, " ", g.out_c, where), reads, {y},
             [=](float* base, const Layout& L) {
               const kernels::Int8Requantize e =
                   requant->view(has_res ? L.bytes(base, res) : nullptr, has_res ? static_cast<std::size_t>(y.c) : 0);
               kernels::int8_depthwise_forward(isa, g, L.bytes(base, x), in.zero, *packed, e, L.bytes(base, y));
             });
    return y;
  }

  // The byte forms of add_add_upsampled (fh = fw = 1: a plain sum) and of the 2x2 max pool: byte
  // tensors in, the sum's bytes under `out`, the pool's under its input's map (a maximum of bytes is
  // the bytes of the maximum). The feature pyramid of a detector, kept in int8 between its convolutions.
  Value add_int8_add_upsampled(const Value& a, const Value& low, int fh, int fw, Clamp clamp, const QuantParams& out) {
    const QuantParams qa = require_bytes(a, "an int8 Add"), ql = require_bytes(low, "an int8 Add");
    detail::require(fh >= 1 && fw >= 1 && low.h * fh == a.h && low.w * fw == a.w && low.c == a.c,
                    "GraphNet: int8 Add of a ", a.h, "x", a.w, "x", a.c, " tensor and a ", low.h, "x", low.w, "x", low.c,
                    " one upsampled by ", fh, "x", fw);
    const Value y = add_byte_value(a.h, a.w, a.c, out);
    // out = (sa (a - za) + sl (l - zl)) / so + zo = a ka + l kl + k0, clamped in bytes.
    const double so = out.scale, ka = qa.scale / so, kl = ql.scale / so;
    const double k0 = out.zero - qa.zero * ka - ql.zero * kl;
    const float lo = static_cast<float>(std::clamp(std::ceil(clamp.lo / so + out.zero), 0.0, 255.0));
    const float hi = static_cast<float>(std::clamp(std::floor(clamp.hi / so + out.zero), 0.0, 255.0));
    const Isa isa = isa_;
    add_step(detail::cat("int8 add upsampled x", fh, " ", y.c, ", ", y.h, "x", y.w), {a, low}, {y},
             [=](float* base, const Layout& L) {
               kernels::kernel_table(isa).add_upsampled_u8(a.h, a.w, a.c, fh, fw, L.bytes(base, a), L.bytes(base, low),
                                                           L.bytes(base, y), static_cast<float>(ka), static_cast<float>(kl),
                                                           static_cast<float>(k0), lo, hi);
             });
    return y;
  }
  Value add_int8_max_pool_2x2(const Value& x) {
    const QuantParams q = require_bytes(x, "an int8 max pool");
    detail::require(x.h >= 2 && x.w >= 2, "GraphNet: max pool 2x2 over ", x.h, "x", x.w);
    const Value y = add_byte_value(x.h / 2, x.w / 2, x.c, q);
    const Isa isa = isa_;
    add_step(detail::cat("int8 max pool 2x2/2 ", y.c, ", ", y.h, "x", y.w), {x}, {y}, [=](float* base, const Layout& L) {
      kernels::kernel_table(isa).max_pool_2x2_rows_u8(x.w, x.c, L.bytes(base, x), L.bytes(base, y), 0,
                                                      static_cast<std::size_t>(y.h));
    });
    return y;
  }

  // y = clamp(a + b) element-wise.
  Value add_add(const Value& a, const Value& b, Clamp clamp) {
    require_floats(a, "Add"), require_floats(b, "Add");
    detail::require(a.size() == b.size() && a.c == b.c, "GraphNet: Add of different shapes");
    const Value y = add_value(a.h, a.w, a.c);
    const Isa isa = isa_;
    add_step(detail::cat("add ", y.c, ", ", y.h, "x", y.w), {a, b}, {y}, [=](float* base, const Layout& L) {
      kernels::kernel_table(isa).add_clamped(y.size(), L.at(base, a), L.at(base, b), L.at(base, y), clamp.lo, clamp.hi);
    });
    return y;
  }

  // y = clamp(a + up(low)) element-wise, up: nearest-neighbour upsampling of low by whole factors (fh,
  // fw) to a's size; the upsampled tensor never exists (an FPN's Resize then Add).
  Value add_add_upsampled(const Value& a, const Value& low, int fh, int fw, Clamp clamp) {
    require_floats(a, "Add"), require_floats(low, "Add");
    detail::require(fh >= 1 && fw >= 1 && low.h * fh == a.h && low.w * fw == a.w && low.c == a.c,
                    "GraphNet: Add of a ", a.h, "x", a.w, "x", a.c, " tensor and a ", low.h, "x", low.w, "x", low.c,
                    " one upsampled by ", fh, "x", fw);
    const Value y = add_value(a.h, a.w, a.c);
    const Isa isa = isa_;
    add_step(detail::cat("add upsampled x", fh, " ", y.c, ", ", y.h, "x", y.w), {a, low}, {y}, [=](float* base, const Layout& L) {
      kernels::kernel_table(isa).add_upsampled(a.h, a.w, a.c, fh, fw, L.at(base, a), L.at(base, low), L.at(base, y), clamp.lo,
                                               clamp.hi);
    });
    return y;
  }

  Value add_clamp(const Value& x, Clamp clamp) {
    require_floats(x, "a clamp");
    const Value y = add_value(x.h, x.w, x.c);
    add_step(detail::cat("clamp ", y.c, ", ", y.h, "x", y.w), {x}, {y}, [=](float* base, const Layout& L) {
      const float* p = L.at(base, x);
      float* out = L.at(base, y);
      for (std::size_t i = 0; i < y.size(); ++i) out[i] = std::min(std::max(p[i], clamp.lo), clamp.hi);
    });
    return y;
  }

  // The mean over pixels of each channel; `into` (may be null): a 1 x 1 x C tensor or channel view to
  // write instead of a new tensor.
  Value add_global_average_pool(const Value& x, const Value* into = nullptr) {
    require_floats(x, "a global average pool");
    const Value y = into ? *into : add_value(1, 1, x.c);
    detail::require(y.h == 1 && y.w == 1 && y.c == x.c, "GraphNet: global average pool of ", x.c,
                    " channels into a ", y.h, "x", y.w, "x", y.c, " tensor");
    add_step(detail::cat("global average pool ", x.c, ", ", x.h, "x", x.w), {x}, {y}, [=](float* base, const Layout& L) {
      const float* p = L.at(base, x);
      float* out = L.at(base, y);
      std::fill(out, out + x.c, 0.0f);
      const std::size_t pixels = x.pixels();
      for (std::size_t i = 0; i < pixels; ++i)
        for (int c = 0; c < x.c; ++c) out[c] += p[i * static_cast<std::size_t>(x.c) + static_cast<std::size_t>(c)];
      for (int c = 0; c < x.c; ++c) out[c] /= static_cast<float>(pixels);
    });
    return y;
  }
  // y = 1 / (1 + exp(-x)) element-wise.
  Value add_sigmoid(const Value& x) {
    require_floats(x, "a sigmoid");
    const Value y = add_value(x.h, x.w, x.c);
    add_step(detail::cat("sigmoid ", y.c, ", ", y.h, "x", y.w), {x}, {y}, [=](float* base, const Layout& L) {
      const float* p = L.at(base, x);
      float* out = L.at(base, y);
      for (std::size_t i = 0; i < y.size(); ++i) out[i] = 1.0f / (1.0f + std::exp(-p[i]));
    });
    return y;
  }

  // Nearest-neighbour upsampling by whole factors: y(r, c) = x(r / fh, c / fw), ONNX Resize with
  // mode nearest, asymmetric coordinates and floor rounding at integer scales.
  Value add_upsample_nearest(const Value& x, int fh, int fw) {
    require_floats(x, "upsampling");
    detail::require(fh >= 1 && fw >= 1 && fh <= 16 && fw <= 16, "GraphNet: upsampling by ", fh, "x", fw);
    const Value y = add_value(x.h * fh, x.w * fw, x.c);
    add_step(detail::cat("upsample x", fh, " ", y.c, ", ", y.h, "x", y.w), {x}, {y}, [=](float* base, const Layout& L) {
      const std::size_t c = static_cast<std::size_t>(x.c);
      for (int r = 0; r < y.h; ++r) {
        const float* row = L.at(base, x) + static_cast<std::size_t>(r / fh) * static_cast<std::size_t>(x.w) * c;
        float* out = L.at(base, y) + static_cast<std::size_t>(r) * static_cast<std::size_t>(y.w) * c;
        for (int col = 0; col < y.w; ++col) std::copy_n(row + static_cast<std::size_t>(col / fw) * c, c, out + static_cast<std::size_t>(col) * c);
      }
    });
    return y;
  }

  // Max or average pooling with a kernel, stride and zero padding (average counts the padding when
  // count_pad, as ONNX's count_include_pad).
  Value add_pool(const Value& x, bool max, int kh, int kw, int sh, int sw, int ph, int pw, bool count_pad) {
    require_floats(x, "pooling");
    detail::require(kh >= 1 && kw >= 1 && sh >= 1 && sw >= 1 && ph >= 0 && pw >= 0 && ph < kh && pw < kw &&
                        x.h + 2 * ph >= kh && x.w + 2 * pw >= kw,
                    "GraphNet: pooling ", kh, "x", kw, " stride ", sh, "x", sw, " pad ", ph, "x", pw, " over ", x.h,
                    "x", x.w, " (padding must be smaller than the kernel, the kernel fit the padded input)");
    const int oh = (x.h + 2 * ph - kh) / sh + 1, ow = (x.w + 2 * pw - kw) / sw + 1;
    const Value y = add_value(oh, ow, x.c);
    if (max && kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0) {
      // A detector's downsampling between stages: the ISA's kernel (no padding, so no bounds tests).
      const Isa isa = isa_;
      add_step(detail::cat("max pool 2x2/2 ", y.c, ", ", y.h, "x", y.w), {x}, {y}, [=](float* base, const Layout& L) {
        kernels::kernel_table(isa).max_pool_2x2_rows(x.w, x.c, L.at(base, x), L.at(base, y), 0, static_cast<std::size_t>(oh));
      });
      return y;
    }
    add_step(detail::cat(max ? "max" : "average", " pool ", kh, "x", kw, "/", sh, " ", y.c, ", ", y.h, "x", y.w), {x}, {y}, [=](float* base, const Layout& L) {
      const std::size_t c = static_cast<std::size_t>(x.c);
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          // Channels innermost: each tap is one contiguous run of x.c floats, which vectorises.
          float* out = L.at(base, y) + (static_cast<std::size_t>(oy) * ow + ox) * c;
          std::fill_n(out, c, max ? -std::numeric_limits<float>::infinity() : 0.0f);
          int taps = 0;
          for (int ky = 0; ky < kh; ++ky) {
            const int iy = oy * sh - ph + ky;
            if (iy < 0 || iy >= x.h) continue;
            for (int kx = 0; kx < kw; ++kx) {
              const int ix = ox * sw - pw + kx;
              if (ix < 0 || ix >= x.w) continue;
              const float* in = L.at(base, x) + (static_cast<std::size_t>(iy) * x.w + ix) * c;
              if (max)
                for (std::size_t k = 0; k < c; ++k) out[k] = std::max(out[k], in[k]);
              else
                for (std::size_t k = 0; k < c; ++k) out[k] += in[k];
              ++taps;
            }
          }
          if (!max) {
            const float scale = 1.0f / static_cast<float>(count_pad ? kh * kw : std::max(taps, 1));
            for (std::size_t k = 0; k < c; ++k) out[k] *= scale;
          }
        }
    });
    return y;
  }

  // The tensor flattened the way ONNX flattens NCHW (channel-major), as a vector.
  Value add_flatten(const Value& x) {
    require_floats(x, "Flatten");
    if (x.h == 1 && x.w == 1) return Value{1, 1, x.c, x.id};  // same order: an alias
    detail::require(x.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max()), "GraphNet: Flatten of ",
                    x.h, "x", x.w, "x", x.c);
    const Value y = add_value(1, 1, static_cast<int>(x.size()));
    add_step(detail::cat("flatten ", x.h, "x", x.w, "x", x.c), {x}, {y}, [=](float* base, const Layout& L) {
      const float* p = L.at(base, x);
      float* out = L.at(base, y);
      const std::size_t pixels = static_cast<std::size_t>(x.h) * x.w;
      for (std::size_t i = 0; i < pixels; ++i)
        for (int c = 0; c < x.c; ++c) out[static_cast<std::size_t>(c) * pixels + i] = p[i * static_cast<std::size_t>(x.c) + static_cast<std::size_t>(c)];
    });
    return y;
  }

  // Channels [first, first + count) of x.
  Value add_channel_slice(const Value& x, int first, int count) {
    require_floats(x, "a channel slice");
    detail::require(first >= 0 && count > 0 && first <= x.c - count, "GraphNet: channels ", first, " to ",
                    first + count, " of a tensor of ", x.c);
    const Value y = add_value(x.h, x.w, count);
    add_step(detail::cat("channels ", first, "+", count, " of ", x.c, ", ", y.h, "x", y.w), {x}, {y}, [=](float* base, const Layout& L) {
      const std::size_t pixels = static_cast<std::size_t>(x.h) * x.w, c = static_cast<std::size_t>(count);
      const std::size_t pitch = static_cast<std::size_t>(x.c);
      const float* in = L.at(base, x) + first;
      float* out = L.at(base, y);
      // (a plain loop: a detector head's slices are 1 to 10 channels, shorter than a copy call's set-up)
      for (std::size_t i = 0; i < pixels; ++i, in += pitch, out += c)
        for (std::size_t k = 0; k < c; ++k) out[k] = in[k];
    });
    return y;
  }

  // Concatenation along channels.
  Value add_concat(const std::vector<Value>& parts) {
    detail::require(!parts.empty(), "GraphNet: Concat of nothing");
    for (const Value& p : parts) require_floats(p, "Concat");
    int c = 0;
    for (const Value& p : parts) {
      detail::require(p.h == parts[0].h && p.w == parts[0].w, "GraphNet: Concat of different spatial sizes");
      detail::require(p.c <= std::numeric_limits<int>::max() - c, "GraphNet: Concat of too many channels");
      c += p.c;
    }
    const Value y = add_value(parts[0].h, parts[0].w, c);
    add_step(detail::cat("concat ", parts.size(), " -> ", y.c, ", ", y.h, "x", y.w), parts, {y}, [=](float* base, const Layout& L) {
      const std::size_t pixels = static_cast<std::size_t>(y.h) * y.w;
      int channel = 0;
      for (const Value& p : parts) {
        for (std::size_t i = 0; i < pixels; ++i)
          std::copy_n(L.at(base, p) + i * static_cast<std::size_t>(p.c), p.c,
                      L.at(base, y) + i * static_cast<std::size_t>(y.c) + static_cast<std::size_t>(channel));
        channel += p.c;
      }
    });
    return y;
  }

  // y = x W + b for a vector x; W given row-major (in x out).
  Value add_fully_connected(const Value& x, int out, const std::vector<float>& w_in_out, std::vector<float> bias) {
    require_floats(x, "a fully connected layer");
    const int in = static_cast<int>(x.size());
    detail::require(w_in_out.size() == static_cast<std::size_t>(in) * out, "GraphNet: fully connected weights");
    const Value y = add_value(1, 1, out);
    detail::require(bias.size() == static_cast<std::size_t>(out), "GraphNet: fully connected bias");
    auto packed = std::make_shared<kernels::PackedMatrix>(isa_, in, out, kernels::row_major(w_in_out.data(), out));
    weights_.push_back(std::shared_ptr<Tensor>(packed, &packed->storage()));
    const auto b = keep(bias);
    flops_ += 2.0 * in * out;
    add_step(detail::cat("fully connected ", in, "->", out), {x}, {y}, [=](float* base, const Layout& L) {
      kernels::GemmEpilogue e;
      e.bias = b->data();
      kernels::gemm_prepacked(1, L.at(base, x), static_cast<std::size_t>(in), *packed, L.at(base, y),
                              static_cast<std::size_t>(out), e);
    });
    return y;
  }

  // The landmark output (2N values, x/y pairs in crop units after `scale`).
  void set_landmarks(const Value& v, float scale) {
    require_building();
    require_floats(v, "the landmark output");
    detail::require(v.size() % 2 == 0, "GraphNet: the landmark output has an odd size ", v.size());
    landmarks_ = static_cast<int>(v.size() / 2);
    landmarks_value_ = v;
    if (scale != 1.0f) {
      landmarks_value_ = add_value(1, 1, static_cast<int>(v.size()));
      const Value from = v, to = landmarks_value_;
      add_step("landmark scale", {from}, {to}, [=](float* base, const Layout& L) {
        for (std::size_t i = 0; i < from.size(); ++i) L.at(base, to)[i] = L.at(base, from)[i] * scale;
      });
    }
  }

  void add_output(const std::string& name, const Value& v) {
    require_building();
    require_floats(v, "an output");
    outputs_.emplace_back(name, v);
  }
  // The named outputs, in the graph's order.
  const std::vector<std::pair<std::string, Value>>& outputs() const { return outputs_; }

  // Ends building: runs the passes (pitch_pass, in_place_pass), places every tensor in the arena
  // (plan_arena), gathers the weights onto huge pages. The arena is then at most the budget given at
  // construction, else an Error.
  void finish() {
    require_building();
    const std::size_t n = tensors_.size();
    layout_.pitch.assign(n, 0);
    layout_.offset.assign(n, 0);
    storage_.resize(n);
    for (std::size_t i = 0; i < n; ++i) storage_[i] = {static_cast<int>(i), 0};
    for (const Step& step : steps_)
      for (const std::vector<int>* ids : {&step.reads, &step.writes})
        for (int id : *ids) {
          const TensorInfo& t = tensors_[static_cast<std::size_t>(id)];
          detail::require(step.pitched || t.parent < 0 || t.value.pixels() == 1, "GraphNet: the step '", step.what,
                          "' cannot address a channel view of a ", t.value.h, "x", t.value.w, " tensor");
        }
    pitch_pass();
    in_place_pass();
    plan_arena();
    // The named float tensors each step completes (for observe).
    last_writes_.assign(steps_.size(), {});
    std::vector<int> last_writer(n, -1);
    for (std::size_t s = 0; s < steps_.size(); ++s)
      for (int id : steps_[s].writes)
        last_writer[static_cast<std::size_t>(id)] = last_writer[static_cast<std::size_t>(root(id))] = static_cast<int>(s);
    for (std::size_t i = 0; i < n; ++i)
      if (last_writer[i] >= 0 && !tensors_[i].name.empty() && !tensors_[i].bytes)
        last_writes_[static_cast<std::size_t>(last_writer[i])].push_back(static_cast<int>(i));
    std::vector<Tensor*> weights;
    for (const auto& w : weights_) weights.push_back(w.get());
    gather_onto_huge_pages(weights);
    finished_ = true;
  }

 private:
  struct Step {
    std::function<void(float* base, const Layout& layout)> run;
    std::vector<int> reads, writes;  // tensor ids
    std::string what;                // e.g. "conv direct 3x3/2 3->16, 240x320": for profiles
    double flops = 0.0;
    bool pitched = false;            // takes any pitch of the tensors it reads and writes
    int in_place_rows = 0;           // > 0: a step that may write over its input, so many rows behind
  };
  struct TensorInfo {
    Value value;
    int parent = -1;  // >= 0: a channel view of that tensor, from channel `channel`
    int channel = 0;
    bool bytes = false;  // a byte tensor (add_byte_value), its map `quant`
    QuantParams quant;
    std::string name;    // for observe(); empty: none
  };
  struct Storage {
    int id = 0;              // the tensor whose memory this one lives in (itself unless merged in place)
    std::size_t offset = 0;  // floats from that memory's start
  };

  // A copy of `values` the graph keeps for its steps (gathered onto huge pages by finish()).
  std::shared_ptr<const Tensor> keep(const std::vector<float>& values) {
    auto t = std::make_shared<Tensor>(Shape{static_cast<int>(values.size())});
    std::copy(values.begin(), values.end(), t->data());
    weights_.push_back(t);
    return t;
  }
  // Depthwise weights OHWI, (C, taps), kept as the kernels read them: (taps, C).
  std::shared_ptr<const Tensor> keep_depthwise(const ConvGeometry& g, const std::vector<float>& weights) {
    const int taps = g.kernel_h * g.kernel_w;
    auto t = std::make_shared<Tensor>(Shape{taps, g.out_c});
    kernels::detail_dw::transpose(g.out_c, taps, weights.data(), t->data());
    weights_.push_back(t);
    return t;
  }

  void add_step(std::string what, const std::vector<Value>& reads, const std::vector<Value>& writes,
                std::function<void(float*, const Layout&)> run, bool pitched = false, int in_place_rows = 0) {
    require_building();
    // The flops counted since the last step are this step's (add_conv and add_fully_connected count
    // theirs before adding the step).
    Step step{std::move(run), {}, {}, std::move(what), flops_ - flops_in_steps_, pitched, in_place_rows};
    flops_in_steps_ = flops_;
    for (const Value& v : reads) step.reads.push_back(v.id);
    for (const Value& v : writes) step.writes.push_back(v.id);
    steps_.push_back(std::move(step));
  }

  int root(int id) const {
    const TensorInfo& t = tensors_[static_cast<std::size_t>(id)];
    return t.parent < 0 ? id : t.parent;
  }
  // The input and the outputs: their users see them dense, at their own places.
  bool is_io(int id) const {
    if (id == input_.id || (landmarks_ > 0 && id == root(landmarks_value_.id))) return true;
    for (const auto& o : outputs_)
      if (root(o.second.id) == id) return true;
    return false;
  }
  bool has_views(int id) const {
    for (const TensorInfo& t : tensors_)
      if (t.parent == id) return true;
    return false;
  }

  // With a channel count that is a multiple of 128 (a 512-byte multiple), a given channel of every pixel
  // falls on the same few L1 sets: at 512 channels (2 KB), a 3x3 depthwise's three input rows need twice
  // the 12 ways there are, and a GEMM's 12 A rows crowd two sets. One cache line more per pixel spreads
  // them over all sets. For tensors of more than one pixel every step of which (views included) takes
  // a pitch; not the input or the outputs.
  void pitch_pass() {
    padded_ = 0;
    std::vector<bool> dense(tensors_.size(), false);
    for (const Step& step : steps_)
      for (const std::vector<int>* ids : {&step.reads, &step.writes})
        for (int id : *ids)
          if (!step.pitched) dense[static_cast<std::size_t>(root(id))] = true;
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      const Value& v = tensors_[i].value;
      layout_.pitch[i] = static_cast<std::size_t>(v.c);
      if (tensors_[i].parent < 0 && !tensors_[i].bytes && !dense[i] && v.pixels() > 1 && v.c % 128 == 0 &&
          !is_io(static_cast<int>(i))) {
        layout_.pitch[i] += 16;
        ++padded_;
      }
    }
    for (std::size_t i = 0; i < tensors_.size(); ++i)
      if (tensors_[i].parent >= 0) layout_.pitch[i] = layout_.pitch[static_cast<std::size_t>(tensors_[i].parent)];
  }

  // A stride-1 depthwise layer can write its output over its own input, lagging behind: output row oy
  // reads no input row before oy - pad_h, and the kernels produce rows in order, so it may store row oy
  // where input row oy - pad_h - 1 was (the last row that output row oy - 1 read). So can a pointwise
  // layer of as many outputs as inputs, a GEMM row block behind (kernels::gemm_rows_in_flight). Its
  // output then goes to cache lines the layer has just read, not to cold ones that every store would
  // first have to fetch.
  // For a step whose input is read by no other step, both whole tensors of one pitch, neither the
  // input or an output of the graph: the output's memory starts in_place_rows rows before the input's.
  void in_place_pass() {
    in_place_ = 0;
    std::vector<int> readers(tensors_.size(), 0);
    for (const Step& step : steps_)
      for (int id : step.reads) ++readers[static_cast<std::size_t>(root(id))];
    for (const Step& step : steps_) {
      if (step.in_place_rows <= 0 || step.reads.size() != 1 || step.writes.size() != 1) continue;
      const int x = step.reads[0], y = step.writes[0];
      const std::size_t xi = static_cast<std::size_t>(x), yi = static_cast<std::size_t>(y);
      if (tensors_[xi].parent >= 0 || tensors_[yi].parent >= 0 || readers[xi] != 1 || is_io(x) || is_io(y) ||
          has_views(x) || has_views(y) || layout_.pitch[xi] != layout_.pitch[yi] || storage_[xi].id != x ||
          storage_[yi].id != y)
        continue;
      const std::size_t lag = static_cast<std::size_t>(step.in_place_rows) * static_cast<std::size_t>(tensors_[xi].value.w) * layout_.pitch[xi];
      storage_[yi] = {x, 0};  // y at the start of x's memory, x moved lag floats on
      storage_[xi] = {x, lag};
      ++in_place_;
    }
  }

  // The arena floats of `elements` values of tensor t: floats, or bytes (and the kInt8ReadPast the int8
  // GEMM may read past its last row) rounded up to floats.
  static std::size_t arena_floats_for(const TensorInfo& t, std::size_t elements) {
    return t.bytes ? (elements + kernels::kInt8ReadPast + sizeof(float) - 1) / sizeof(float) : elements;
  }
  // A tensor's floats in the arena, at its pitch.
  std::size_t floats_of(std::size_t i) const {
    return arena_floats_for(tensors_[i], tensors_[i].value.pixels() * layout_.pitch[i]);
  }

  // Tensors whose lifetimes do not overlap share memory: a tensor lives from the step that first writes
  // it to the last step that reads it (the input from the start, the outputs to the end). Placement is
  // greedy by size, largest first, each at the lowest offset free of the live tensors already placed
  // (the strategy of TensorFlow Lite's arena planner), over memory blocks: a tensor with the tensors
  // that live in it (in place) and its channel views.
  void plan_arena() {
    const std::size_t n = tensors_.size();
    const int end = static_cast<int>(steps_.size());
    std::vector<int> first(n, end), last(n, -1);
    std::vector<std::size_t> size(n, 0);
    auto block = [&](int id) { return static_cast<std::size_t>(storage_[static_cast<std::size_t>(root(id))].id); };
    auto live = [&](int id, int step) {
      const std::size_t b = block(id);
      first[b] = std::min(first[b], step), last[b] = std::max(last[b], step);
    };
    for (std::size_t i = 0; i < n; ++i)
      if (tensors_[i].parent < 0) {
        const std::size_t b = block(static_cast<int>(i));
        size[b] = std::max(size[b], aligned(storage_[i].offset + floats_of(i)));
      }
    if (input_.id >= 0) live(input_.id, -1);
    for (int s = 0; s < end; ++s) {
      for (int id : steps_[static_cast<std::size_t>(s)].reads) live(id, s);
      for (int id : steps_[static_cast<std::size_t>(s)].writes) live(id, s);
    }
    for (const auto& o : outputs_) live(o.second.id, end);
    if (landmarks_ > 0) live(landmarks_value_.id, end);
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < n; ++i)
      if (last[i] >= first[i]) order.push_back(i);  // (tensors never used, and those living in others, skipped)
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return size[a] > size[b]; });
    std::vector<std::size_t> at(n, 0), placed;
    arena_floats_ = 0;
    for (std::size_t i : order) {
      // The placed blocks alive at the same time, by offset; the first gap that fits.
      std::vector<std::size_t> overlapping;
      for (std::size_t j : placed)
        if (first[j] <= last[i] && first[i] <= last[j]) overlapping.push_back(j);
      std::sort(overlapping.begin(), overlapping.end(), [&](std::size_t a, std::size_t b) { return at[a] < at[b]; });
      std::size_t offset = 0;
      for (std::size_t j : overlapping) {
        if (at[j] >= offset + size[i]) break;
        offset = std::max(offset, at[j] + size[j]);
      }
      at[i] = offset;
      arena_floats_ = std::max(arena_floats_, offset + size[i]);
      placed.push_back(i);
    }
    detail::require(arena_floats_ <= max_arena_floats_, "GraphNet: the activations need ", arena_floats_ * sizeof(float),
                    " bytes, more than the arena budget of ", max_arena_floats_ * sizeof(float), " bytes");
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t r = static_cast<std::size_t>(root(static_cast<int>(i)));
      layout_.offset[i] = at[block(static_cast<int>(i))] + storage_[r].offset + static_cast<std::size_t>(tensors_[i].channel);
    }
  }

  // A convolution step's reads (x, and the residual, of the output's shape, when there is one); counts
  // its flops.
  std::vector<Value> conv_reads(const ConvGeometry& g, const Value& x, const Value& y, const Value* residual) {
    std::vector<Value> reads{x};
    if (residual) {
      detail::require(residual->h == y.h && residual->w == y.w && residual->c == y.c, "GraphNet: residual shape differs");
      reads.push_back(*residual);
    }
    flops_ += 2.0 * g.macs();
    return reads;
  }

  void require_floats(const Value& v, const char* what) const {
    detail::require(!tensors_[static_cast<std::size_t>(v.id)].bytes, "GraphNet: ", what, " of a byte tensor");
  }
  QuantParams require_bytes(const Value& v, const char* what) const {
    const TensorInfo& t = tensors_[static_cast<std::size_t>(v.id)];
    detail::require(t.bytes, "GraphNet: ", what, " of a float tensor");
    return t.quant;
  }

  void require_building() const { detail::require(!finished_, "GraphNet: the graph is finished; it cannot grow"); }
  void require_finished() const { detail::require(finished_, "GraphNet: finish() the graph before it runs"); }

  Isa isa_;
  std::size_t max_arena_floats_;
  int landmarks_ = 0;
  Value input_{0, 0, 0, -1}, landmarks_value_;
  std::vector<Step> steps_;
  std::vector<std::pair<std::string, Value>> outputs_;
  std::vector<TensorInfo> tensors_;                // per tensor id
  std::vector<Storage> storage_;                   // per tensor id, set by in_place_pass
  std::vector<std::vector<int>> last_writes_;      // per step: the named float tensors it completes
  std::vector<std::shared_ptr<Tensor>> weights_;   // every weight and bias tensor the steps read
  Layout layout_;                                  // set by finish()
  std::size_t arena_floats_ = 0;
  int padded_ = 0, in_place_ = 0;
  bool finished_ = false;
  double flops_ = 0.0, flops_in_steps_ = 0.0;
};

}  // namespace infer
}  // namespace pfld
