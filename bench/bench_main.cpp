// pfld_bench: per-layer kernels (forward and backward, GFLOP/s), the FMA peak they are measured against,
// whole-network training throughput (images/s), and inference: single-face latency of the fused graph
// per ISA (median and p90, GFLOP/s, % of the FMA peak) and batch throughput.
//
//   pfld_bench [--weights-0.25x=FILE] [--weights-1x=FILE] [--int8-0.25x=FILE] [--int8-1x=FILE]
//              [--onnx=FILE] [--benchmark_filter=REGEX] [Google Benchmark flags]
// The active ISA is the best the CPU has, or PFLD_ISA=ref|avx2|avx512|neon. Inference runs on the given
// weights files (bench/compare_inference.py passes the ones it exports to ONNX), else on freshly
// initialised networks (the same work), except detect/..., which needs a trained network's points and
// takes the shipped weights.
#include <benchmark/benchmark.h>

#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#if defined(PFLD_ARCH_X86_64)
#include <immintrin.h>
#endif

namespace {

using pfld::ConvGeometry;
using pfld::Isa;

// ---- FMA peak: independent FMA chains, enough to cover the latency of two FMA units.
#if defined(PFLD_ARCH_X86_64)
__attribute__((target("avx2,fma"))) double fma_loop_avx2(long iterations) {
  __m256 a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < 10; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 s = a[0];
  for (int i = 1; i < 10; ++i) s = _mm256_add_ps(s, a[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  benchmark::DoNotOptimize(out[0]);
  return 2.0 * 8 * 10 * static_cast<double>(iterations);
}

__attribute__((target("avx512f,fma"))) double fma_loop_avx512(long iterations) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  float out[16];
  _mm512_storeu_ps(out, s);  // (_mm512_reduce_add_ps trips a GCC 12 -Wuninitialized false positive)
  benchmark::DoNotOptimize(out[0]);
  return 2.0 * 16 * 12 * static_cast<double>(iterations);
}
#endif

double fma_loop(Isa isa, long iterations) {
#if defined(PFLD_ARCH_X86_64)
  if (isa == Isa::avx512) return fma_loop_avx512(iterations);
  if (isa == Isa::avx2) return fma_loop_avx2(iterations);
#endif
  (void)isa;
  float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (long it = 0; it < iterations; ++it)
    for (float& v : a) v = v * 0.999999f + 1e-7f;
  benchmark::DoNotOptimize(a[0]);
  return 2.0 * 8 * static_cast<double>(iterations);
}

void BM_fma_peak(benchmark::State& state) {
  const Isa isa = pfld::active_isa();
  double flops = 0;
  for (auto _ : state) flops += fma_loop(isa, 1 << 20);
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(pfld::to_string(isa));
}

// ---- int8 dot-product peak: independent vpdpbusd chains (64 multiply-adds each), like fma_peak; an
// op is a multiply or an add, so one multiply-add counts 2 as an FMA lane does.
#if defined(PFLD_ARCH_X86_64)
__attribute__((target("avx512f,avx512bw,avx512vnni"))) double vnni_loop_avx512(long iterations) {
  __m512i a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_epi32(i);
  const __m512i u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-2);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm512_dpbusd_epi32(a[i], u, s);
  __m512i sum = a[0];
  for (int i = 1; i < 12; ++i) sum = _mm512_add_epi32(sum, a[i]);
  int out[16];
  _mm512_storeu_si512(out, sum);
  benchmark::DoNotOptimize(out[0]);
  return 2.0 * 64 * 12 * static_cast<double>(iterations);
}

void BM_vnni_peak(benchmark::State& state) {
  double ops = 0;
  for (auto _ : state) ops += vnni_loop_avx512(1 << 20);
  state.counters["GOP/s"] = benchmark::Counter(ops / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel("avx512 vnni");
}
#endif

// ---- The int8 GEMM kernels on a 1x1 layer's product (rows = pixels, k = input channels, n = output
// channels), each variant this CPU runs; forward/<same layer> times the float kernels on it.
void BM_int8_gemm(benchmark::State& state, int m, int k, int n, pfld::kernels::Int8GemmFn run) {
  pfld::Rng rng(5);
  std::vector<std::uint8_t> a(static_cast<std::size_t>(m) * static_cast<std::size_t>(k) + pfld::kernels::kInt8ReadPast);
  for (auto& x : a) x = static_cast<std::uint8_t>(rng.below(256));
  std::vector<std::int8_t> w(static_cast<std::size_t>(n) * static_cast<std::size_t>(k));
  for (auto& x : w) x = static_cast<std::int8_t>(static_cast<int>(rng.below(255)) - 127);
  const pfld::kernels::Int8PackedMatrix b(n, k, w.data());
  std::vector<std::int32_t> offset(static_cast<std::size_t>(n), -3);
  std::vector<float> scale(static_cast<std::size_t>(n), 1e-3f), shift(static_cast<std::size_t>(n), 7.0f);
  pfld::kernels::Int8Requantize e;
  e.offset = offset.data();
  e.scale = scale.data();
  e.shift = shift.data();
  std::vector<std::uint8_t> c(static_cast<std::size_t>(m) * static_cast<std::size_t>(n));
  for (auto _ : state) {
    run(m, k, n, a.data(), static_cast<std::size_t>(k), b.data(), e, c.data(), static_cast<std::size_t>(n));
    benchmark::ClobberMemory();
  }
  state.counters["GOP/s"] = benchmark::Counter(2.0 * m * k * n * static_cast<double>(state.iterations()) / 1e9,
                                               benchmark::Counter::kIsRate);
}

// ---- The int8 depthwise kernel on a depthwise layer; forward/<same layer> times the float one.
void BM_int8_depthwise(benchmark::State& state, ConvGeometry g, Isa isa) {
  g.batch = 1;
  pfld::Rng rng(6);
  std::vector<std::uint8_t> x(static_cast<std::size_t>(g.in_h) * g.in_w * g.in_c), y(static_cast<std::size_t>(g.out_h()) * g.out_w() * g.out_c);
  for (auto& v : x) v = static_cast<std::uint8_t>(rng.below(256));
  std::vector<std::int8_t> w(static_cast<std::size_t>(g.out_c) * 9);
  for (auto& v : w) v = static_cast<std::int8_t>(static_cast<int>(rng.below(255)) - 127);
  const pfld::kernels::Int8DepthwiseWeights packed(g, w.data());
  std::vector<float> scale(static_cast<std::size_t>(g.out_c), 1e-3f), shift(static_cast<std::size_t>(g.out_c), 7.0f);
  pfld::kernels::Int8Requantize e;
  e.scale = scale.data();
  e.shift = shift.data();
  for (auto _ : state) {
    pfld::kernels::int8_depthwise_forward(isa, g, x.data(), 128, packed, e, y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GOP/s"] = benchmark::Counter(2.0 * g.macs() * static_cast<double>(state.iterations()) / 1e9,
                                               benchmark::Counter::kIsRate);
  state.SetLabel(pfld::to_string(isa));
}

// ---- The convolution shapes of PFLD at a width, each once.
struct Layer {
  std::string name;
  ConvGeometry g;
};

// The layer's own geometry, as nn::Conv2d computes it for a size x size input.
ConvGeometry conv(int size, int cin, int cout, int k, int stride, int pad, int groups) {
  return pfld::nn::Conv2d(cin, cout, k, stride, pad, groups, false).geometry(1, size, size);
}

std::vector<Layer> pfld_layers(float width) {
  pfld::ModelConfig c;
  c.width = width;
  const int c64 = c.scaled(64), c128 = c.scaled(128);
  auto name = [&](const std::string& s) { return std::string(width == 1.0f ? "1X/" : "0.25X/") + s; };
  return {
      {name("conv1 3x3/2 3->") + std::to_string(c64) + " @112", conv(112, 3, c64, 3, 2, 1, 1)},
      {name("conv2 dw3x3 ") + std::to_string(c64) + " @56", conv(56, c64, c64, 3, 1, 1, c64)},
      {name("expand 1x1 ") + std::to_string(c64) + "->" + std::to_string(2 * c64) + " @56", conv(56, c64, 2 * c64, 1, 1, 0, 1)},
      {name("dw3x3/2 ") + std::to_string(2 * c64) + " @56", conv(56, 2 * c64, 2 * c64, 3, 2, 1, 2 * c64)},
      {name("project 1x1 ") + std::to_string(2 * c64) + "->" + std::to_string(c64) + " @28", conv(28, 2 * c64, c64, 1, 1, 0, 1)},
      {name("expand 1x1 ") + std::to_string(c64) + "->" + std::to_string(2 * c64) + " @28", conv(28, c64, 2 * c64, 1, 1, 0, 1)},
      {name("dw3x3 ") + std::to_string(2 * c64) + " @28", conv(28, 2 * c64, 2 * c64, 3, 1, 1, 2 * c64)},
      {name("dw3x3/2 ") + std::to_string(2 * c64) + " @28", conv(28, 2 * c64, 2 * c64, 3, 2, 1, 2 * c64)},
      {name("project 1x1 ") + std::to_string(2 * c64) + "->" + std::to_string(c128) + " @14", conv(14, 2 * c64, c128, 1, 1, 0, 1)},
      {name("expand 1x1 ") + std::to_string(c128) + "->" + std::to_string(4 * c128) + " @14", conv(14, c128, 4 * c128, 1, 1, 0, 1)},
      {name("dw3x3 ") + std::to_string(4 * c128) + " @14", conv(14, 4 * c128, 4 * c128, 3, 1, 1, 4 * c128)},
      {name("project 1x1 ") + std::to_string(4 * c128) + "->" + std::to_string(c128) + " @14", conv(14, 4 * c128, c128, 1, 1, 0, 1)},
      {name("expand 1x1 ") + std::to_string(c128) + "->" + std::to_string(2 * c128) + " @14", conv(14, c128, 2 * c128, 1, 1, 0, 1)},
      {name("dw3x3 ") + std::to_string(2 * c128) + " @14", conv(14, 2 * c128, 2 * c128, 3, 1, 1, 2 * c128)},
      {name("project 1x1 ") + std::to_string(2 * c128) + "->16 @14", conv(14, 2 * c128, 16, 1, 1, 0, 1)},
      {name("conv7 3x3/2 16->32 @14"), conv(14, 16, 32, 3, 2, 1, 1)},
      {name("conv8 7x7 valid 32->128 @7"), conv(7, 32, 128, 7, 1, 0, 1)},
  };
}

struct ConvBuffers {
  pfld::Tensor x, w, y, dy, dx, dw;
  pfld::kernels::ConvWorkspace ws;
  explicit ConvBuffers(const ConvGeometry& g) {
    pfld::Rng rng(1);
    auto fill = [&](pfld::Tensor& t, const pfld::Shape& s) {
      t = pfld::Tensor(s);
      for (float& v : t) v = rng.uniform(-1.0f, 1.0f);
    };
    fill(x, pfld::Shape{g.batch, g.in_h, g.in_w, g.in_c});
    fill(w, pfld::Shape{g.out_c, g.kernel_h, g.kernel_w, g.in_c / g.groups});
    fill(dy, pfld::Shape{g.batch, g.out_h(), g.out_w(), g.out_c});
    y = pfld::Tensor(dy.shape());
    dx = pfld::Tensor(x.shape());
    dw = pfld::Tensor(w.shape());
  }
};

void BM_conv_forward(benchmark::State& state, ConvGeometry g, Isa isa) {
  g.batch = static_cast<int>(state.range(0));
  ConvBuffers b(g);
  for (auto _ : state) pfld::kernels::conv2d_forward(isa, g, b.x.data(), b.w.data(), nullptr, b.y.data(), b.ws, nullptr);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * g.macs() * static_cast<double>(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(pfld::to_string(isa));
}

void BM_conv_backward(benchmark::State& state, ConvGeometry g, Isa isa) {
  g.batch = static_cast<int>(state.range(0));
  ConvBuffers b(g);
  pfld::kernels::conv2d_forward(isa, g, b.x.data(), b.w.data(), nullptr, b.y.data(), b.ws, nullptr);
  for (auto _ : state) {
    pfld::kernels::conv2d_backward_weights(isa, g, b.x.data(), b.dy.data(), b.dw.data(), nullptr, b.ws, nullptr);
    pfld::kernels::conv2d_backward_input(isa, g, b.dy.data(), b.w.data(), b.dx.data(), b.ws, nullptr);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * g.macs() * static_cast<double>(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(pfld::to_string(isa));
}

// ---- Whole-network training step: backbone + aux net + full loss + AdamW, batch 64.
void BM_train_step(benchmark::State& state, float width, int threads) {
  pfld::set_num_threads(threads);
  pfld::ModelConfig c;
  c.width = width;
  pfld::model::PfldNet net(c);
  pfld::model::AuxNet aux(c);
  pfld::Rng rng(1);
  net.reset_parameters(rng);
  aux.reset_parameters(rng);
  const int batch = 64;
  pfld::Batch b;
  b.images = pfld::Tensor(pfld::Shape{batch, 112, 112, 3});
  b.landmarks = pfld::Tensor(pfld::Shape{batch, 136});
  b.pose = pfld::Tensor(pfld::Shape{batch, 3});
  b.attributes = pfld::Tensor(pfld::Shape{batch, 5});
  for (float& v : b.images) v = rng.uniform();
  for (float& v : b.landmarks) v = rng.uniform(0.2f, 0.8f);
  for (float& v : b.pose) v = rng.uniform(-0.3f, 0.3f);
  for (int m = 0; m < batch; ++m) b.attributes[static_cast<std::size_t>(m * 5 + m % 5)] = 1.0f;
  pfld::train::Adam adam(1e-4f);
  pfld::train::Trainer trainer(net, aux, pfld::model::PfldLoss(pfld::model::LossMode::full, {2, 2, 40, 3, 7}), adam,
                               pfld::train::LrSchedule{});
  trainer.step(b);  // first touch of every buffer
  for (auto _ : state) trainer.step(b);
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(batch) * static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
  state.SetLabel(std::string(pfld::to_string(pfld::active_isa())) + ", " + std::to_string(threads) + " thread(s)");
  pfld::set_num_threads(0);
}

// ---- Inference: the fused graph, one face at a time on one thread, and batches over the pool.
std::string weights_files[2];  // 0.25X, 1X (empty: a freshly initialised network)
std::string int8_files[2];     // 0.25X, 1X int8 models (pfld_convert --quantize; empty: made from the above)
std::string onnx_file;         // --onnx=FILE: also time this model imported into pfld
std::string yunet_file;        // --yunet=FILE: the YuNet face detector (default: the shipped one)
std::string yunet_int8_file;   // --yunet-int8=FILE: its int8 ranges (default: the shipped ones)
std::string profile_size;      // --profile=WxH, 1X or 0.25X: print a network's time per step instead
bool int8_profile = false;     // --profile=1X-int8 or 0.25X-int8: the int8 network's

std::unique_ptr<pfld::model::PfldNet> inference_network(float width) {
  const std::string& file = weights_files[width == 1.0f ? 1 : 0];
  if (!file.empty()) return pfld::train::load_network(file);
  pfld::ModelConfig c;
  c.width = width;
  auto net = std::make_unique<pfld::model::PfldNet>(c);
  pfld::Rng rng(1);
  net->reset_parameters(rng);
  return net;
}

double fma_peak_gflops(Isa isa) {
  fma_loop(isa, 1 << 18);
  double best = 0.0;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double flops = fma_loop(isa, 1 << 20);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, flops / s / 1e9);
  }
  return best;
}

// One timed run of `net` per benchmark iteration on `input`, which is copied into the arena before each
// run, untimed (a GraphNet run consumes its input); the run times in seconds, sorted.
std::vector<double> timed_runs(benchmark::State& state, const pfld::GraphNet& net, pfld::InferenceArena& arena,
                               const std::vector<float>& input) {
  std::copy(input.begin(), input.end(), net.input(arena));
  net.run_graph(arena);  // warm-up
  std::vector<double> seconds;
  seconds.reserve(100000);
  for (auto _ : state) {
    std::copy(input.begin(), input.end(), net.input(arena));
    const auto t0 = std::chrono::steady_clock::now();
    net.run_graph(arena);
    benchmark::ClobberMemory();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds;
}

// The int8 graph of the network (pfld_convert --quantize's), calibrated on 8 random crops: the ranges
// change no step's work, only its numbers.
std::shared_ptr<pfld::GraphNet> int8_graph(pfld::model::PfldNet& net, Isa isa) {
  const pfld::model::PfldTensorLookup tensors = pfld::model::tensors_of(net);
  const auto float_graph = pfld::build_inference_graph(net.config(), tensors, isa);
  pfld::Rng rng(3);
  std::vector<float> crops(8 * 112 * 112 * 3);
  for (float& v : crops) v = rng.uniform();
  const pfld::Int8Network q = pfld::quantize_network(net.config(), tensors, pfld::calibrate_activations(*float_graph, crops.data(), 8));
  return pfld::build_inference_graph(net.config(), tensors, isa, &q);
}

// The int8 dot-product peak in GOP/s (0 where the CPU has no AVX-512 VNNI), like fma_peak_gflops.
double vnni_peak_gops() {
#if defined(PFLD_ARCH_X86_64)
  if (!pfld::isa_supported(Isa::avx512) || !pfld::cpu_features().avx512vnni) return 0.0;
  vnni_loop_avx512(1 << 18);
  double best = 0.0;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double ops = vnni_loop_avx512(1 << 20);
    best = std::max(best, ops / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 1e9);
  }
  return best;
#else
  return 0.0;
#endif
}

// int8: the network as pfld_convert --quantize makes it (fc in float).
void BM_infer_latency(benchmark::State& state, float width, Isa isa, bool int8) {
  auto net = inference_network(width);
  const std::string& int8_file = int8_files[width == 1.0f ? 1 : 0];
  const auto fused = !int8 ? pfld::build_inference_graph(*net, isa)
                     : int8_file.empty() ? int8_graph(*net, isa) : pfld::load_inference_graph(int8_file, isa);
  pfld::InferenceArena arena = fused->make_arena();
  pfld::Rng rng(2);
  std::vector<float> crop(112 * 112 * 3);
  for (float& v : crop) v = rng.uniform();
  const std::vector<double> seconds = timed_runs(state, *fused, arena, crop);
  const double median = seconds[seconds.size() / 2], p90 = seconds[seconds.size() * 9 / 10];
  const double peak = fma_peak_gflops(isa);
  state.counters["median_ms"] = median * 1e3;
  state.counters["p90_ms"] = p90 * 1e3;
  state.counters["GFLOP/s"] = fused->flops() / median / 1e9;
  state.counters["peak_GFLOP/s"] = peak;
  state.counters["%peak"] = 100.0 * fused->flops() / median / 1e9 / peak;
  if (int8) {
    const double vnni = vnni_peak_gops();
    if (vnni > 0.0) state.counters["%vnni_peak"] = 100.0 * fused->flops() / median / 1e9 / vnni;
  }
  state.SetLabel(pfld::to_string(isa));
}

// An ONNX model imported into pfld's GraphNet, one face on one thread.
void BM_infer_onnx(benchmark::State& state, Isa isa) {
  pfld::OnnxImportOptions options;
  options.isa = isa;
  const auto net = pfld::load_onnx(onnx_file, options);
  pfld::InferenceArena arena = net->make_arena();
  pfld::Rng rng(2);
  std::vector<float> crop(static_cast<std::size_t>(net->input_size()) * net->input_size() * 3);
  for (float& v : crop) v = rng.uniform();
  const std::vector<double> seconds = timed_runs(state, *net, arena, crop);
  const double median = seconds[seconds.size() / 2];
  state.counters["median_ms"] = median * 1e3;
  state.counters["p90_ms"] = seconds[seconds.size() * 9 / 10] * 1e3;
  state.counters["GFLOP/s"] = net->flops() / median / 1e9;
  state.SetLabel(pfld::to_string(isa));
}

void BM_infer_batch(benchmark::State& state, float width, int threads) {
  auto net = inference_network(width);
  const auto fused = pfld::build_inference_graph(*net);
  pfld::ThreadPool pool(threads);
  std::vector<pfld::InferenceArena> arenas;
  for (int t = 0; t < threads; ++t) arenas.push_back(fused->make_arena());
  const std::size_t faces = 64;
  std::vector<float> crop(112 * 112 * 3);
  pfld::Rng rng(3);
  for (float& v : crop) v = rng.uniform();
  auto run_all = [&] {
    pool.parallel_for(0, static_cast<std::size_t>(threads), [&](std::size_t lo, std::size_t hi) {
      for (std::size_t t = lo; t < hi; ++t)
        for (std::size_t f = t; f < faces; f += static_cast<std::size_t>(threads))
          benchmark::DoNotOptimize(fused->run(crop.data(), arenas[t]));
    });
  };
  run_all();
  for (auto _ : state) run_all();
  state.counters["faces/s"] = benchmark::Counter(static_cast<double>(faces) * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(std::string(pfld::to_string(fused->isa())) + ", " + std::to_string(threads) + " thread(s)");
}

// A 640x480 photo of noise, the detect and warp benchmarks' input.
pfld::Image noise_photo() {
  pfld::Image image(640, 480, pfld::PixelFormat::rgb);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<std::uint8_t>(i * 2654435761u >> 24);
  return image;
}

// The detect benchmarks need a trained network: a fresh one puts every point near the crop's centre,
// so its refine passes frame a speck and upright turns by no real roll. --weights-* if given (a missing
// file is an error, as everywhere), else the shipped weights from the source tree, else a fresh network.
std::unique_ptr<pfld::model::PfldNet> detect_network(float width, std::string& label) {
  std::string file = weights_files[width == 1.0f ? 1 : 0];
#ifdef PFLD_SHIPPED_WEIGHTS_DIR
  const std::string shipped =
      std::string(PFLD_SHIPPED_WEIGHTS_DIR) + (width == 1.0f ? "/pfld-1x-68.pfld" : "/pfld-0.25x-68.pfld");
  if (file.empty() && std::ifstream(shipped)) file = shipped;
#endif
  if (file.empty()) {
    label = "fresh network: refine passes frame no face";
    return inference_network(width);
  }
  label = file.substr(file.find_last_of('/') + 1);
  return pfld::train::load_network(file);
}

// Detector::detect end to end: the crop's bilinear warp from a 640x480 photo, the network, the mapping
// back; with refine passes, each from a crop turned by the face's roll (DetectorOptions::upright) or not.
void BM_detect(benchmark::State& state, float width, pfld::DetectorOptions options) {
  std::string weights;
  auto net = detect_network(width, weights);
  pfld::Detector detector(pfld::build_inference_graph(*net, options.isa), options);
  const pfld::Image image = noise_photo();
  pfld::Landmarks points;
  detector.detect(image.view(), pfld::Box{250, 150, 160, 190}, points);
  for (auto _ : state) detector.detect(image.view(), pfld::Box{250, 150, 160, 190}, points);
  state.SetLabel(std::string(pfld::to_string(pfld::active_isa())) + ", " + weights);
}

// The crop's bilinear warp alone, 640x480 photo -> 112x112: unturned (a detector's box) and turned by
// 20 degrees (an upright refine pass, a training crop), on the ISA's vector path and on the scalar one.
void BM_warp(benchmark::State& state, float degrees, Isa isa) {
  const pfld::Image image = noise_photo();
  const pfld::CropTransform crop = pfld::CropTransform::square(330, 245, 228, 112, degrees * 0.017453292f);
  std::vector<float> out(112 * 112 * 3);
  for (auto _ : state) {
    crop.warp(image.view(), out.data(), 1.0f / 255.0f, isa);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(pfld::to_string(isa));
}

// A 640x480 photo with one face: Grace Hopper (python-matplotlib-data) resampled to 4:3; every second
// pixel of it for 320x240.
pfld::Image face_photo(int width) {
  const pfld::Image source = pfld::io::read_image("/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg");
  // The 512 x 384 band around the face, scaled by 1.25.
  const pfld::CropTransform band = pfld::CropTransform::square(256, 230, 512, 640);
  std::vector<float> rgb(640 * 640 * 3);
  band.warp(source.view(), rgb.data(), 1.0f);
  const int step = 640 / width;
  pfld::Image image(width, width * 3 / 4, pfld::PixelFormat::rgb);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      for (int c = 0; c < 3; ++c)
        image.at(x, y)[c] =
            static_cast<std::uint8_t>(rgb[(static_cast<std::size_t>(y * step + 80) * 640 + x * step) * 3 + c] + 0.5f);
  return image;
}

// The cascade face detector on the 640x480 photo.
void BM_face_detect(benchmark::State& state, std::string cascade, int threads) {
  try {
    const pfld::Image image = face_photo(640);
    pfld::CascadeFaceDetector detector = pfld::CascadeFaceDetector::load(cascade);
    pfld::ThreadPool pool(threads);
    std::size_t faces = 0;
    for (auto _ : state) faces = detector.detect(image.view(), &pool).size();
    state.counters["faces"] = static_cast<double>(faces);
    state.SetLabel(cascade.substr(cascade.rfind('/') + 1) + ", " + std::to_string(threads) + " thread(s)");
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// The --yunet-int8 ranges (null for float).
std::shared_ptr<const pfld::ActivationRanges> yunet_ranges(bool int8) {
  return int8 ? std::make_shared<const pfld::ActivationRanges>(pfld::load_activation_ranges(yunet_int8_file)) : nullptr;
}

// YuNet on pfld's kernels, one thread: preprocessing, the network, decoding and suppression; in float or
// in int8.
void BM_face_detect_yunet(benchmark::State& state, int width, Isa isa, bool int8) {
  try {
    const pfld::Image image = face_photo(width);
    pfld::YuNetOptions options;
    options.isa = isa;
    options.int8 = yunet_ranges(int8);
    pfld::YuNet yunet = pfld::YuNet::load(yunet_file, options);
    std::size_t faces = yunet.detect(image.view()).size();
    for (auto _ : state) faces = yunet.detect(image.view()).size();
    state.counters["faces"] = static_cast<double>(faces);
    state.SetLabel(yunet_file.substr(yunet_file.rfind('/') + 1) + (int8 ? " int8, " : ", ") + pfld::to_string(isa));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// The YuNet network alone at height x width (the --yunet file imported at that size), one thread, on a
// ready input: what bench/compare_face_detector.py sets against onnxruntime running the same file.
void BM_face_detect_net(benchmark::State& state, int height, int width, Isa isa, bool int8) {
  try {
    pfld::OnnxImportOptions options;
    options.isa = isa;
    const auto ranges = yunet_ranges(int8);
    options.int8 = ranges.get();
    const auto net = pfld::import_onnx_graph(pfld::io::read_onnx(yunet_file), options, yunet_file, height, width);
    pfld::InferenceArena arena = net->make_arena();
    std::vector<float> photo(static_cast<std::size_t>(height) * width * 3);
    for (std::size_t i = 0; i < photo.size(); ++i) photo[i] = static_cast<float>(i * 7919 % 256);
    const std::vector<double> seconds = timed_runs(state, *net, arena, photo);
    const double median = seconds[seconds.size() / 2];
    state.counters["median_ms"] = median * 1e3;
    state.counters["GFLOP/s"] = net->flops() / median / 1e9;
    state.counters["%peak"] = 100.0 * net->flops() / median / 1e9 / fma_peak_gflops(pfld::active_isa());
    state.counters["arena_MB"] = static_cast<double>(net->arena_floats()) * 4 / 1e6;
    state.SetLabel(yunet_file.substr(yunet_file.rfind('/') + 1) + (int8 ? " int8, " : ", ") + pfld::to_string(isa));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// --profile=WxH: the face detector network's time step by step (median of 200 runs, one thread), then
// exit: where the time of face_detect_net goes; WxH-int8: its int8 form's (--yunet-int8).
// --profile=1X or 0.25X: the same for the landmark network (the shipped weights, or --weights-*);
// 1X-int8 or 0.25X-int8: for its int8 form.
int profile_network(const std::string& size) {
  int width = 0, height = 0;
  char x = 0;
  std::istringstream in(size);
  const bool landmarks = size == "1X" || size == "0.25X";
  if (!landmarks && (!(in >> width >> x >> height) || x != 'x' || width <= 0 || height <= 0 || width > 4096 ||
                     height > 4096 || width % 32 != 0 || height % 32 != 0)) {
    std::fprintf(stderr,
                 "pfld_bench: --profile=%s: expected 1X, 0.25X or WIDTHxHEIGHT, multiples of 32 (the sizes YuNet pads to)\n",
                 size.c_str());
    return 1;
  }
  try {
    const bool int8 = int8_profile;
    const auto ranges = yunet_ranges(int8 && !landmarks);
    pfld::OnnxImportOptions import;
    import.int8 = ranges.get();
    const auto net = landmarks && int8 ? int8_graph(*inference_network(size == "1X" ? 1.0f : 0.25f), pfld::active_isa())
                     : landmarks ? pfld::build_inference_graph(*inference_network(size == "1X" ? 1.0f : 0.25f), pfld::active_isa())
                               : pfld::import_onnx_graph(pfld::io::read_onnx(yunet_file), import, yunet_file, height, width);
    pfld::InferenceArena arena = net->make_arena();
    float* input = net->input(arena);
    const std::size_t input_floats = landmarks ? std::size_t{112} * 112 * 3 : static_cast<std::size_t>(height) * width * 3;
    for (std::size_t i = 0; i < input_floats; ++i) input[i] = static_cast<float>(i * 7919 % 256) / (landmarks ? 255.0f : 1.0f);
    const auto steps = net->profile(arena, 200);
    double total = 0;
    for (const auto& s : steps) total += s.seconds;
    const double peak = fma_peak_gflops(pfld::active_isa());
    std::printf("%s at %s, %s: %.3f ms in %zu steps (FMA peak %.0f GFLOP/s)\n",
                landmarks ? ("PFLD " + size + (int8 ? " int8" : "")).c_str() : (yunet_file + (int8 ? " int8" : "")).c_str(),
                landmarks ? "112x112" : size.c_str(),
                pfld::to_string(net->isa()), total * 1e3, steps.size(), peak);
    std::printf("%9s %6s %9s  %s\n", "us", "share", "GFLOP/s", "step");
    for (const auto& s : steps)
      std::printf("%9.1f %5.1f%% %9.1f  %s\n", s.seconds * 1e6, 100 * s.seconds / total, s.flops / s.seconds / 1e9, s.what.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pfld_bench: %s\n", e.what());
    return 1;
  }
}

// A photo to 68 landmarks, one face, one thread: Detector::detect_all with the default face detector
// (YuNet) and the 0.25X network, `refine` passes after the first.
void BM_photo_landmarks(benchmark::State& state, int refine) {
  try {
    const pfld::Image image = face_photo(640);
    pfld::ThreadPool pool(1);
    pfld::DetectorOptions options;
    options.refine = refine;
    std::unique_ptr<pfld::model::PfldNet> net = inference_network(0.25f);
    pfld::Detector detector(pfld::build_inference_graph(*net, options.isa), options);
    detector.set_face_detector(pfld::load_face_detector(yunet_file));
    std::size_t faces = detector.detect_all(image.view(), &pool).size();
    for (auto _ : state) faces = detector.detect_all(image.view(), &pool).size();
    state.counters["faces"] = static_cast<double>(faces);
    state.SetLabel(weights_files[0].empty() ? "untrained 0.25X" : weights_files[0].substr(weights_files[0].rfind('/') + 1));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Our own flags first; the rest goes to Google Benchmark.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--weights-0.25x=", 16) == 0)
      weights_files[0] = argv[i] + 16;
    else if (std::strncmp(argv[i], "--int8-0.25x=", 13) == 0)
      int8_files[0] = argv[i] + 13;
    else if (std::strncmp(argv[i], "--int8-1x=", 10) == 0)
      int8_files[1] = argv[i] + 10;
    else if (std::strncmp(argv[i], "--weights-1x=", 13) == 0)
      weights_files[1] = argv[i] + 13;
    else if (std::strncmp(argv[i], "--onnx=", 7) == 0)
      onnx_file = argv[i] + 7;
    else if (std::strncmp(argv[i], "--yunet=", 8) == 0)
      yunet_file = argv[i] + 8;
    else if (std::strncmp(argv[i], "--yunet-int8=", 13) == 0)
      yunet_int8_file = argv[i] + 13;
    else if (std::strncmp(argv[i], "--profile=", 10) == 0) {
      profile_size = argv[i] + 10;
      if (profile_size.size() > 5 && profile_size.compare(profile_size.size() - 5, 5, "-int8") == 0) {
        int8_profile = true;
        profile_size.resize(profile_size.size() - 5);
      }
    }
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  for (const std::string& file :
       {weights_files[0], weights_files[1], int8_files[0], int8_files[1], onnx_file, yunet_file, yunet_int8_file})
    if (!file.empty() && !std::ifstream(file)) {  // one line now, not an exception in a benchmark later
      std::fprintf(stderr, "pfld_bench: %s: cannot open (missing or unreadable)\n", file.c_str());
      return 1;
    }
  if (yunet_file.empty()) yunet_file = pfld::default_face_detector_path();
  if (yunet_int8_file.empty()) yunet_int8_file = pfld::io::shipped_weights("face_detection_yunet_2023mar-int8.ranges");
  if (!profile_size.empty()) return profile_network(profile_size);
  benchmark::RegisterBenchmark("fma_peak", BM_fma_peak)->Unit(benchmark::kMillisecond);
#if defined(PFLD_ARCH_X86_64)
  if (pfld::isa_supported(Isa::avx512) && pfld::cpu_features().avx512vnni)
    benchmark::RegisterBenchmark("vnni_peak", BM_vnni_peak)->Unit(benchmark::kMillisecond);
#endif
  for (float width : {1.0f, 0.25f})
    for (const Layer& layer : pfld_layers(width)) {
      const ConvGeometry& g = layer.g;
      if (g.groups == g.in_c && g.groups > 1)
        benchmark::RegisterBenchmark(("int8_depthwise/" + layer.name).c_str(), BM_int8_depthwise, g, pfld::active_isa())
            ->Unit(benchmark::kMicrosecond);
      if (g.groups != 1) continue;
      // (a dense layer wider than 1x1 runs on its im2col: k = the patch, its m x k bytes as A here)
      for (const auto& variant : pfld::kernels::int8_gemm_variants())
        if (variant.name != "ref")
          benchmark::RegisterBenchmark(("int8_gemm/" + layer.name + "/" + variant.name).c_str(), BM_int8_gemm,
                                       g.out_h() * g.out_w(), pfld::kernels::patch_size(g), g.out_c, variant.run)
              ->Unit(benchmark::kMicrosecond);
    }
  const Isa isa = pfld::active_isa();
  for (float degrees : {0.0f, 20.0f})
    for (Isa warp_isa : {isa, Isa::ref})
      if (warp_isa == isa || isa != Isa::ref)
        benchmark::RegisterBenchmark((std::string(warp_isa == Isa::ref ? "warp_ref" : "warp") + "/640x480->112/" +
                                      (degrees == 0 ? "unturned" : "turned")).c_str(),
                                     BM_warp, degrees, warp_isa)
            ->Unit(benchmark::kMicrosecond);
  for (float width : {1.0f, 0.25f})
    for (const Layer& layer : pfld_layers(width)) {
      benchmark::RegisterBenchmark(("forward/" + layer.name).c_str(), BM_conv_forward, layer.g, isa)
          ->Arg(1)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("backward/" + layer.name).c_str(), BM_conv_backward, layer.g, isa)
          ->Arg(8)
          ->Unit(benchmark::kMicrosecond);
      if (isa != Isa::ref)
        benchmark::RegisterBenchmark(("forward_ref/" + layer.name).c_str(), BM_conv_forward, layer.g, Isa::ref)
            ->Arg(1)
            ->Unit(benchmark::kMicrosecond);
    }
  for (float width : {0.25f, 1.0f})
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark(
          ("train_step/" + std::string(width == 1.0f ? "1X" : "0.25X") + "/batch64/threads:" + std::to_string(threads)).c_str(),
          BM_train_step, width, threads)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(width == 1.0f ? 2 : 5);
  for (float width : {0.25f, 1.0f}) {
    const std::string w = width == 1.0f ? "1X" : "0.25X";
    for (Isa i : {Isa::avx512, Isa::avx2, Isa::neon, Isa::ref})
      if (pfld::isa_supported(i))
        for (bool int8 : {false, true})
          benchmark::RegisterBenchmark(("infer" + std::string(int8 ? "_int8/" : "/") + w + "/" + pfld::to_string(i)).c_str(),
                                       BM_infer_latency, width, i, int8)
              ->Unit(benchmark::kMicrosecond)
              ->MinTime(i == Isa::ref ? 0.5 : 1.0);
    benchmark::RegisterBenchmark(("infer_batch/" + w + "/threads:2").c_str(), BM_infer_batch, width, 2)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("detect/" + w).c_str(), BM_detect, width, pfld::DetectorOptions{})->Unit(benchmark::kMicrosecond);
    for (bool upright : {false, true}) {
      pfld::DetectorOptions refine;
      refine.refine = 1;
      refine.upright = upright;
      benchmark::RegisterBenchmark(("detect/" + w + "/refine:1/" + (upright ? "upright" : "unturned")).c_str(), BM_detect, width,
                                   refine)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  if (!onnx_file.empty())
    for (Isa i : {Isa::avx512, Isa::avx2, Isa::neon})
      if (pfld::isa_supported(i))
        benchmark::RegisterBenchmark((std::string("infer_onnx/") + pfld::to_string(i)).c_str(), BM_infer_onnx, i)
            ->Unit(benchmark::kMicrosecond)
            ->MinTime(1.0);
  for (const std::string& cascade : {pfld::default_face_cascade(),
                                    std::string("/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml")})
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark(("face_detect/640x480/" + cascade.substr(cascade.rfind('/') + 1) + "/threads:" +
                                    std::to_string(threads)).c_str(),
                                   BM_face_detect, cascade, threads)
          ->Unit(benchmark::kMillisecond);
  for (bool int8 : {false, true})
    for (int width : {640, 320})
      for (Isa i : {isa, Isa::ref})
        if (i == isa || isa != Isa::ref)
          benchmark::RegisterBenchmark(("face_detect/" + std::to_string(width) + "x" + std::to_string(width * 3 / 4) +
                                        (int8 ? "/yunet_int8/" : "/yunet/") + pfld::to_string(i)).c_str(),
                                       BM_face_detect_yunet, width, i, int8)
              ->Unit(benchmark::kMillisecond);
  for (bool int8 : {false, true})
    for (const auto& size : {std::pair<int, int>{640, 640}, {480, 640}, {256, 320}})
      for (Isa i : {isa, Isa::ref})
        if (i == isa || isa != Isa::ref)
          benchmark::RegisterBenchmark((std::string(int8 ? "face_detect_net_int8/" : "face_detect_net/") +
                                        std::to_string(size.second) + "x" + std::to_string(size.first) + "/" +
                                        pfld::to_string(i)).c_str(),
                                       BM_face_detect_net, size.first, size.second, i, int8)
              ->Unit(benchmark::kMillisecond);
  for (int refine : {0, 1})
    benchmark::RegisterBenchmark(("photo_landmarks/640x480/refine:" + std::to_string(refine)).c_str(), BM_photo_landmarks, refine)
        ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
