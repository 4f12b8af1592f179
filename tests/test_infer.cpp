// The fused inference graph and the Detector: parity with the training graph's eval forward on every
// ISA, no heap allocation per run, the image-to-landmarks contract, and bad input.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include "support/random_model.hpp"

using namespace pfld;

// Counts every heap allocation made while `counting` is set (all threads). Replaces the global
// allocation functions of this test binary; everything is forwarded to malloc / aligned_alloc.
namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

void* allocate(std::size_t size, std::size_t alignment) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = alignment > alignof(std::max_align_t) ? std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)
                                                  : std::malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

// GCC, once it inlines a replaced delete into a caller, flags the free() of memory that came from
// `operator new` as a mismatch; here every operator new is this file's malloc wrapper.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) { return allocate(size, 0); }
void* operator new[](std::size_t size) { return allocate(size, 0); }
void* operator new(std::size_t size, std::align_val_t a) { return allocate(size, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return allocate(size, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
// The nothrow forms too (std::stable_sort's buffer): every allocation meets this file's delete.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return allocate(size, 0);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return allocate(size, static_cast<std::size_t>(a));
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t& tag) noexcept {
  return operator new(size, a, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

template <typename F>
long allocations_during(F&& work) {
  allocations = 0;
  counting = true;
  work();
  counting = false;
  return allocations.load();
}

std::unique_ptr<model::PfldNet> random_network(float width, int landmarks, std::uint64_t seed,
                                               Activation act = Activation::relu) {
  return test::random_eval_network(width, landmarks, act, seed, true);
}

Tensor random_crops(int count, std::uint64_t seed) {
  Tensor crops(Shape{count, 112, 112, 3});
  Rng rng(seed);
  for (float& v : crops) v = rng.uniform(0.0f, 1.0f);
  return crops;
}

// max |a - b| / max |b|
double relative_error(const float* a, const float* b, std::size_t n) {
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return diff / std::max(scale, 1e-30);
}

// The largest and the mean distance between corresponding points of two landmark sets.
double max_distance(const Landmarks& a, const Landmarks& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::hypot(a[i].x - b[i].x, a[i].y - b[i].y)));
  return worst;
}

double mean_distance(const Landmarks& a, const Landmarks& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::hypot(a[i].x - b[i].x, a[i].y - b[i].y);
  return sum / static_cast<double>(a.size());
}

Image test_image(int w, int h) {
  Image image(w, h, PixelFormat::rgb);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) image.at(x, y)[c] = static_cast<std::uint8_t>((x * 7 + y * 3 + c * 50) % 256);
  return image;
}

}  // namespace

TEST_SUITE("infer") {
  TEST_CASE("fused graph equals the training graph's eval forward, every ISA, width and activation") {
    struct Case {
      float width;
      int landmarks;
      Activation act;
    };
    for (const Case& c : {Case{0.25f, 68, Activation::relu}, Case{1.0f, 98, Activation::relu},
                          Case{0.5f, 68, Activation::relu6}}) {
      auto net = random_network(c.width, c.landmarks, 11, c.act);
      const Tensor crops = random_crops(2, 5);
      const Tensor expected = net->forward(crops).clone();
      for (Isa isa : test::available_isas()) {
        CAPTURE(std::string(to_string(isa)));
        CAPTURE(c.width);
        const auto fused = build_inference_graph(*net, isa);
        // The runtime's passes ran: 128-channel tensors padded, depthwise layers in place, tensors that
        // do not live at the same time sharing memory.
        CHECK(fused->padded_tensors() > 0);
        CHECK(fused->in_place_steps() > 0);
        CHECK(fused->arena_floats() * 2 < fused->tensor_floats());
        InferenceArena arena = fused->make_arena();
        for (int i = 0; i < 2; ++i) {
          const float* out = fused->run(crops.batch(i, 1).data(), arena);
          const std::size_t n = static_cast<std::size_t>(2 * c.landmarks);
          CHECK(relative_error(out, expected.data() + static_cast<std::size_t>(i) * n, n) < 1e-5);
        }
      }
    }
  }

  TEST_CASE("GraphNet: channel views; a step that cannot address a view of several pixels is refused") {
    GraphNet g;
    const float one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
    const GraphNet::Value x = g.set_input(4, 4, one, zero);
    const GraphNet::Value both = g.add_value(4, 4, 6);
    ConvGeometry pointwise;
    pointwise.in_c = 3;
    pointwise.out_c = 3;
    // Two pointwise convolutions write the two halves of one tensor: identity and doubling.
    std::vector<float> identity(9, 0.0f), twice(9, 0.0f);
    for (int c = 0; c < 3; ++c) identity[static_cast<std::size_t>(c * 4)] = 1, twice[static_cast<std::size_t>(c * 4)] = 2;
    const GraphNet::Value left = g.add_channel_view(both, 0, 3), right = g.add_channel_view(both, 3, 3);
    g.add_conv(x, pointwise, identity, {0, 0, 0}, Clamp{}, nullptr, &left);
    g.add_conv(x, pointwise, twice, {0, 0, 0}, Clamp{}, nullptr, &right);
    g.add_output("both", both);
    g.finish();
    InferenceArena arena = g.make_arena();
    for (int i = 0; i < 48; ++i) g.input(arena)[i] = static_cast<float>(i);
    g.run_graph(arena);
    const float* out = g.output(arena, "both");
    for (int p = 0; p < 16; ++p)
      for (int c = 0; c < 3; ++c) {
        CHECK(out[p * 6 + c] == static_cast<float>(p * 3 + c));
        CHECK(out[p * 6 + 3 + c] == static_cast<float>(2 * (p * 3 + c)));
      }

    GraphNet bad;
    const GraphNet::Value y = bad.set_input(4, 4, one, zero);
    const GraphNet::Value wide = bad.add_value(4, 4, 6);
    const GraphNet::Value half = bad.add_channel_view(wide, 0, 3);
    bad.add_add(half, y, Clamp{});
    CHECK_THROWS_WITH_AS(bad.finish(), doctest::Contains("cannot address a channel view"), Error);
  }

  TEST_CASE("GraphNet: a pointwise layer of as many outputs as inputs writes over its input, rows behind, with the same numbers") {
    // input -> 1x1 3->C -> t -> 1x1 C->C (over t, when t has no other reader) -> 1x1 C->5 -> output;
    // 37 x 11 pixels: several row blocks of the GEMM, each read once per panel (its B outgrows L1), so
    // an output that lagged its input by less than a block would overwrite rows still to be read.
    Rng rng(12);
    auto weights = [&](int n) {
      std::vector<float> w(static_cast<std::size_t>(n));
      for (float& v : w) v = rng.uniform(-1.0f, 1.0f);
      return w;
    };
    constexpr int C = 256;
    const std::vector<float> wa = weights(C * 3), wb = weights(C * C), wc = weights(5 * C);
    const std::vector<float> ba = weights(C), bb = weights(C), bc = weights(5);
    std::vector<float> input(37 * 11 * 3);
    for (float& v : input) v = rng.uniform(0.0f, 1.0f);
    for (Isa isa : test::available_isas()) {
      CAPTURE(to_string(isa));
      auto run = [&](bool t_is_output, int* in_place) {
        GraphNet g(isa);
        const float one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
        ConvGeometry pw;
        pw.in_c = 3, pw.out_c = C;
        const GraphNet::Value t = g.add_conv(g.set_input(37, 11, one, zero), pw, wa, ba, Clamp{0.0f, 1e30f}, nullptr);
        pw.in_c = C;
        const GraphNet::Value u = g.add_conv(t, pw, wb, bb, Clamp{0.0f, 1e30f}, nullptr);
        pw.out_c = 5;
        g.add_output("y", g.add_conv(u, pw, wc, bc, Clamp{}, nullptr));
        if (t_is_output) g.add_output("t", t);
        g.finish();
        *in_place = g.in_place_steps();
        InferenceArena arena = g.make_arena();
        std::copy(input.begin(), input.end(), g.input(arena));
        g.run_graph(arena);
        return std::vector<float>(g.output(arena, "y"), g.output(arena, "y") + 37 * 11 * 5);
      };
      int over = 0, apart = 0;
      const std::vector<float> a = run(false, &over), b = run(true, &apart);
      CHECK(over == apart + 1);
      CHECK(a == b);
    }
  }

  TEST_CASE("the parity check can fail: a perturbed batch-norm statistic is caught") {
    auto net = random_network(0.25f, 68, 3);
    const Tensor crops = random_crops(1, 9);
    const auto fused = build_inference_graph(*net, active_isa());
    for (auto& b : net->buffers())
      if (b.name == "stage5.2.depthwise.bn.running_var") (*b.value)[3] *= 1.01f;
    const Tensor expected = net->forward(crops).clone();
    InferenceArena arena = fused->make_arena();
    CHECK(relative_error(fused->run(crops.data(), arena), expected.data(), 136) > 1e-5);
  }

  TEST_CASE("a run allocates nothing, on every ISA; nor do Detector::detect and track into a sized vector") {
    auto net = random_network(0.25f, 68, 4);
    const Tensor crops = random_crops(1, 2);
    for (Isa isa : test::available_isas()) {
      CAPTURE(std::string(to_string(isa)));
      const auto fused = build_inference_graph(*net, isa);
      InferenceArena arena = fused->make_arena();
      fused->run(crops.data(), arena);  // warm-up (thread-locals, first-touch)
      const float* out = nullptr;
      CHECK(allocations_during([&] { out = fused->run(crops.data(), arena); }) == 0);
      CHECK(std::isfinite(out[0]));

      const Image image = test_image(200, 160);
      for (bool mirror_average : {false, true}) {
        CAPTURE(mirror_average);
        DetectorOptions options;
        options.isa = isa;
        options.mirror_average = mirror_average;
        options.refine = 1;
        Detector detector(build_inference_graph(*net, options.isa), options);
        Landmarks points;
        detector.detect(image.view(), Box{40, 30, 100, 110}, points);
        CHECK(allocations_during([&] { detector.detect(image.view(), Box{42, 31, 98, 108}, points); }) == 0);
        CHECK(allocations_during([&] { detector.track(image.view(), points, points); }) == 0);
      }
    }
    // The counter works: an allocation under counting is seen.
    std::vector<float>* probe = nullptr;
    CHECK(allocations_during([&] { probe = new std::vector<float>(100); }) >= 2);
    delete probe;
  }

  TEST_CASE("remap_landmarks: a 98-point model answers with the 68 corresponding points") {
    auto wflw = build_inference_graph(*random_network(0.25f, 98, 12));
    const auto as68 = remap_landmarks(wflw, 68);
    REQUIRE(as68->landmark_count() == 68);
    CHECK(remap_landmarks(wflw, 98) == wflw);  // nothing to map
    const Tensor crops = random_crops(1, 13);
    InferenceArena all_arena = wflw->make_arena(), arena = as68->make_arena();
    const float* all = wflw->run(crops.data(), all_arena);
    const float* picked = as68->run(crops.data(), arena);
    const std::vector<int> map = wflw98_to_ibug68();
    int same = 0;
    for (std::size_t i = 0; i < map.size(); ++i)
      same += picked[2 * i] == all[2 * map[i]] && picked[2 * i + 1] == all[2 * map[i] + 1];
    CHECK(same == 68);

    // The Detector remaps when asked for the other scheme's count, and only then.
    const Image image = test_image(200, 180);
    const Box face{40, 30, 100, 110};
    DetectorOptions want68;
    want68.landmarks = 68;
    Detector remapped(wflw, want68), plain(wflw);
    CHECK(remapped.landmark_count() == 68);
    const Landmarks a = remapped.detect(image.view(), face), b = plain.detect(image.view(), face);
    for (std::size_t i = 0; i < map.size(); ++i) {
      CHECK(a[i].x == b[static_cast<std::size_t>(map[i])].x);
      CHECK(a[i].y == b[static_cast<std::size_t>(map[i])].y);
    }
    DetectorOptions want5;
    want5.landmarks = 5;
    CHECK_THROWS_WITH_AS(Detector(wflw, want5), doctest::Contains("no known correspondence from 98 to 5"), Error);
    InferenceArena small = wflw->make_arena();
    CHECK_THROWS_WITH_AS(as68->run(small), doctest::Contains("make_arena"), Error);
  }

  TEST_CASE("LinearReadout: W [x; 1] of the model's coordinates, by hand") {
    auto net = build_inference_graph(*random_network(0.25f, 68, 14));
    const int k = 2 * 68 + 1;
    // Two output points: one the mean of points 0 and 1 plus an offset, one point 5 scaled about the centre.
    std::vector<float> w(static_cast<std::size_t>(4 * k), 0.0f);
    w[0 * k + 0] = w[0 * k + 2] = 0.5f, w[0 * k + k - 1] = 0.01f;
    w[1 * k + 1] = w[1 * k + 3] = 0.5f, w[1 * k + k - 1] = -0.02f;
    w[2 * k + 10] = 2.0f, w[2 * k + k - 1] = -0.5f;
    w[3 * k + 11] = 2.0f, w[3 * k + k - 1] = -0.5f;
    const LinearReadout readout(net, 2, w);
    CHECK(readout.landmark_count() == 2);
    const Tensor crops = random_crops(1, 15);
    InferenceArena arena = readout.make_arena(), net_arena = net->make_arena();
    const float* x = net->run(crops.data(), net_arena);
    const float* y = readout.run(crops.data(), arena);
    CHECK(y[0] == doctest::Approx(0.5f * (x[0] + x[2]) + 0.01f).epsilon(1e-6));
    CHECK(y[1] == doctest::Approx(0.5f * (x[1] + x[3]) - 0.02f).epsilon(1e-6));
    CHECK(y[2] == doctest::Approx(2.0f * x[10] - 0.5f).epsilon(1e-6));
    CHECK(y[3] == doctest::Approx(2.0f * x[11] - 0.5f).epsilon(1e-6));

    CHECK_THROWS_WITH_AS(LinearReadout(net, 2, std::vector<float>(10)), doctest::Contains("10 weights"), Error);
    w[5] = std::nanf("");
    CHECK_THROWS_WITH_AS(LinearReadout(net, 2, w), doctest::Contains("non-finite"), Error);
  }

  TEST_CASE("EnsembleModel: the mean of its members on the same crop") {
    auto a = build_inference_graph(*random_network(0.25f, 68, 16));
    auto b = build_inference_graph(*random_network(0.25f, 68, 17));
    const EnsembleModel both({a, b});
    const Tensor crops = random_crops(2, 18);
    InferenceArena arena = both.make_arena(), arena_a = a->make_arena(), arena_b = b->make_arena();
    for (int i = 0; i < 2; ++i) {
      const float* crop = crops.batch(i, 1).data();
      const float* mean = both.run(crop, arena);
      const float* ya = a->run(crop, arena_a);
      const float* yb = b->run(crop, arena_b);
      double worst = 0.0;
      for (int c = 0; c < 136; ++c) worst = std::max(worst, std::abs(static_cast<double>(mean[c]) - 0.5 * (ya[c] + yb[c])));
      CHECK(worst < 1e-6);
      CHECK(std::abs(ya[0] - yb[0]) > 1e-3);  // the members differ, so a mean of one would fail
    }
    auto five = build_inference_graph(*random_network(0.25f, 5, 19));
    CHECK_THROWS_WITH_AS(EnsembleModel({a, five}), doctest::Contains("5 landmarks"), Error);
    CHECK_THROWS_AS(EnsembleModel({}), Error);
  }
  TEST_CASE("int8 layers: a quantized 1x1 convolution (ReLU6, residual) and depthwise layer stay within the error their quantization allows") {
    Rng rng(90);
    const int m = 60, k = 40, n = 24;
    std::vector<float> x(static_cast<std::size_t>(m) * k), w(static_cast<std::size_t>(n) * k), b(static_cast<std::size_t>(n)),
        r(static_cast<std::size_t>(m) * n);
    for (auto& v : x) v = rng.uniform(-1.0f, 3.0f);
    for (auto& v : w) v = rng.normal(0.0f, 0.2f);
    for (auto& v : b) v = rng.uniform(-0.5f, 0.5f);
    for (auto& v : r) v = rng.uniform(-0.5f, 1.0f);
    const Clamp relu6{0.0f, 6.0f};
    std::vector<float> y(static_cast<std::size_t>(m) * n);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double s = b[static_cast<std::size_t>(j)] + r[static_cast<std::size_t>(i * n + j)];
        for (int q = 0; q < k; ++q) s += static_cast<double>(x[static_cast<std::size_t>(i * k + q)]) * w[static_cast<std::size_t>(j * k + q)];
        y[static_cast<std::size_t>(i * n + j)] = static_cast<float>(std::min(std::max(s, 0.0), 6.0));
      }
    const QuantParams in = QuantParams::from_range(-1.0f, 3.0f), out = QuantParams::from_range(0.0f, 6.0f),
                      res = QuantParams::from_range(-0.5f, 1.0f);
    CHECK(in.zero == 64);  // 1 / (4 / 255) = 63.75
    CHECK(out.zero == 0);
    const Int8Weights w8 = quantize_weights(w.data(), n, k);
    const kernels::Int8PackedMatrix packed(n, k, w8.values.data());
    const Int8LayerRequant requant = make_int8_requant(in, w8, packed.column_sums().data(), b.data(), out, relu6, &res);
    std::vector<std::uint8_t> qx(x.size() + kernels::kInt8ReadPast), qr(r.size()), qy(y.size());
    for (std::size_t i = 0; i < x.size(); ++i) qx[i] = in.quantize(x[i]);
    for (std::size_t i = 0; i < r.size(); ++i) qr[i] = res.quantize(r[i]);
    kernels::int8_gemm(active_isa(), m, qx.data(), static_cast<std::size_t>(k), packed, requant.view(qr.data(), static_cast<std::size_t>(n)),
                       qy.data(), static_cast<std::size_t>(n));
    // Each output's bound: the inputs' rounding (half a step each) through |w|, the weights' (half their
    // step) through |x|, the residual's and the output's half steps.
    double worst = 0.0, mean = 0.0;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double bound = res.scale / 2.0 + out.scale / 2.0 + 1e-5;
        for (int q = 0; q < k; ++q)
          bound += in.scale / 2.0 * std::fabs(w[static_cast<std::size_t>(j * k + q)]) +
                   w8.scales[static_cast<std::size_t>(j)] / 2.0 * (std::fabs(x[static_cast<std::size_t>(i * k + q)]) + in.scale / 2.0);
        const double error = std::fabs(out.dequantize(qy[static_cast<std::size_t>(i * n + j)]) - y[static_cast<std::size_t>(i * n + j)]);
        CHECK(error <= bound);
        worst = std::max(worst, error / bound);
        mean += error;
      }
    mean /= m * n;
    MESSAGE("1x1 int8 against float: mean |error| " << mean << " (output step " << out.scale << "), worst " << worst << " of its bound");
    CHECK(mean < 0.5 * out.scale);

    // Depthwise: 3x3, stride 1, 8 channels, no residual, no clamp.
    ConvGeometry g;
    g.in_h = g.in_w = 6;
    g.in_c = g.out_c = g.groups = 8;
    g.kernel_h = g.kernel_w = 3;
    g.stride_h = g.stride_w = 1;
    g.pad_h = g.pad_w = 1;
    std::vector<float> dx(6 * 6 * 8), dw(8 * 9), db(8), dy(6 * 6 * 8);
    for (auto& v : dx) v = rng.uniform(0.0f, 2.0f);
    for (auto& v : dw) v = rng.normal(0.0f, 0.5f);
    for (auto& v : db) v = rng.uniform(-1.0f, 1.0f);
    float lo = 0.0f, hi = 0.0f;
    for (int oy = 0; oy < 6; ++oy)
      for (int ox = 0; ox < 6; ++ox)
        for (int c = 0; c < 8; ++c) {
          double s = db[static_cast<std::size_t>(c)];
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int iy = oy - 1 + ky, ix = ox - 1 + kx;
              if (iy >= 0 && iy < 6 && ix >= 0 && ix < 6)
                s += static_cast<double>(dx[static_cast<std::size_t>((iy * 6 + ix) * 8 + c)]) * dw[static_cast<std::size_t>(c * 9 + ky * 3 + kx)];
            }
          dy[static_cast<std::size_t>((oy * 6 + ox) * 8 + c)] = static_cast<float>(s);
          lo = std::min(lo, static_cast<float>(s));
          hi = std::max(hi, static_cast<float>(s));
        }
    const QuantParams din = QuantParams::from_range(0.0f, 2.0f), dout = QuantParams::from_range(lo, hi);
    const Int8Weights dw8 = quantize_weights(dw.data(), 8, 9);
    const Int8LayerRequant drequant = make_int8_requant(din, dw8, nullptr, db.data(), dout, Clamp{});
    CHECK(drequant.offset.empty());
    std::vector<std::uint8_t> dqx(dx.size()), dqy(dy.size());
    for (std::size_t i = 0; i < dx.size(); ++i) dqx[i] = din.quantize(dx[i]);
    kernels::int8_depthwise_forward(active_isa(), g, dqx.data(), din.zero, kernels::Int8DepthwiseWeights(g, dw8.values.data()),
                                    drequant.view(), dqy.data());
    double dworst = 0.0;
    for (std::size_t i = 0; i < dy.size(); ++i) {
      const int c = static_cast<int>(i % 8);
      double bound = dout.scale / 2.0 + 1e-5;
      for (int t = 0; t < 9; ++t) bound += din.scale / 2.0 * std::fabs(dw[static_cast<std::size_t>(c * 9 + t)]) + dw8.scales[static_cast<std::size_t>(c)] / 2.0 * 2.0;
      const double error = std::fabs(dout.dequantize(dqy[i]) - dy[i]);
      CHECK(error <= bound);
      dworst = std::max(dworst, error / bound);
    }
    MESSAGE("depthwise int8 against float: worst " << dworst << " of its bound");
    CHECK_THROWS_AS(QuantParams::from_range(1.0f, 0.0f), Error);
    const float bad[2] = {1.0f, std::numeric_limits<float>::quiet_NaN()};
    CHECK_THROWS_AS(quantize_weights(bad, 1, 2), Error);
  }
}

// The Detector above the network: boxes, crops, refine passes, mirror averaging, errors. Its logic does not
// depend on the ISA, so emulated CI runs leave it out (tests/run_all.sh).
TEST_SUITE("int8") {
  TEST_CASE("int8 PFLD graph: calibrated on crops, every ISA, its landmarks stay near the float graph's") {
    auto net = random_network(0.25f, 68, 21);
    const Tensor crops = random_crops(12, 8);
    const auto float_graph = build_inference_graph(*net);
    const ActivationRanges ranges = calibrate_activations(*float_graph, crops.data(), 8);
    // Every conv unit's output is measured (the names build_inference_graph gives them).
    const model::PfldArchitecture arch(net->config());
    CHECK(ranges.ranges.count(arch.conv1.name) == 1);
    for (const auto& b : arch.blocks)
      for (const model::ConvUnit* u : {&b.expand, &b.depthwise, &b.project}) CHECK(ranges.ranges.count(u->name) == 1);
    CHECK(ranges.ranges.at(arch.conv1.name).first == 0.0f);  // (a ReLU's output)
    InferenceArena float_arena = float_graph->make_arena();
    for (Isa isa : test::available_isas()) {
      CAPTURE(std::string(to_string(isa)));
      const Int8Network q = quantize_network(net->config(), model::tensors_of(*net), ranges);
      const auto int8_graph = build_inference_graph(net->config(), model::tensors_of(*net), isa, &q);
      InferenceArena arena = int8_graph->make_arena();
      // The int8 outputs' mean distance from the float ones, against the float outputs' mean distance
      // from one crop to the next: quantization moves the outputs far less than the input does.
      double error = 0.0, spread = 0.0;
      std::vector<float> previous;
      for (int i = 8; i < 12; ++i) {
        const float* expected = float_graph->run(crops.batch(i, 1).data(), float_arena);
        const std::vector<float> want(expected, expected + 136);
        const float* got = int8_graph->run(crops.batch(i, 1).data(), arena);
        for (std::size_t j = 0; j < want.size(); ++j) {
          error += std::fabs(got[j] - want[j]);
          if (!previous.empty()) spread += std::fabs(want[j] - previous[j]);
        }
        previous = want;
      }
      error /= 4 * 136, spread /= 3 * 136;
      MESSAGE("int8 against float on 4 crops the calibration did not see: mean |error| " << error
                                                                                  << ", float's mean change between crops " << spread);
      // (A random network amplifies its rounding more than trained weights do: the shipped weights'
      // tests below bound it closely. A wrong zero point or scale moves the outputs as far as a new crop.)
      CHECK(error < 0.5 * spread);
      CHECK(error > 0.0);  // (it is int8: not the float graph by another name)
      const float* crop = crops.batch(9, 1).data();
      CHECK(allocations_during([&] { int8_graph->run(crop, arena); }) == 0);
    }
  }

  TEST_CASE("int8 model file: round trip to the same graph, a quarter of the size; hostile and misused files are Errors") {
    auto net = random_network(0.25f, 68, 23);
    const Tensor crops = random_crops(5, 9);
    const auto float_graph = build_inference_graph(*net);
    const model::PfldTensorLookup tensors = model::tensors_of(*net);
    const Int8Network q = quantize_network(net->config(), tensors, calibrate_activations(*float_graph, crops.data(), 4));
    const std::string float_path = std::string(PFLD_TEST_TEMP_DIR) + "/int8_source.pfld";
    const std::string path = std::string(PFLD_TEST_TEMP_DIR) + "/int8.pfld";
    train::save_weights(float_path, *net);
    const io::ModelFile float_file = io::ModelFile::load(float_path);
    make_int8_model_file(float_file, q, {{"calibration", "4 random crops"}}).save(path);
    const auto float_bytes = std::filesystem::file_size(float_path), int8_bytes = std::filesystem::file_size(path);
    MESSAGE("0.25X weights: float " << float_bytes << " bytes, int8 " << int8_bytes);
    CHECK(int8_bytes * 5 < float_bytes * 2);  // (the fully connected layer stays float)

    const io::ModelFile loaded = io::ModelFile::load(path);
    CHECK(io::is_int8_model(loaded));
    CHECK(loaded.metadata.at("calibration") == "4 random crops");
    const auto from_memory = build_inference_graph(net->config(), tensors, active_isa(), &q);
    const auto from_file = load_inference_graph(path);
    InferenceArena a = from_memory->make_arena(), b = from_file->make_arena();
    const float* want = from_memory->run(crops.batch(4, 1).data(), a);
    const std::vector<float> expected(want, want + 136);
    const float* got = from_file->run(crops.batch(4, 1).data(), b);
    int differing = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) differing += got[i] != expected[i];
    CHECK(differing == 0);
    // Detector::load runs whatever the file holds.
    CHECK(Detector::load(path).landmark_count() == 68);

    // Misuse and damage.
    CHECK_THROWS_WITH_AS(train::load_network(path), doctest::Contains("int8 model runs for inference only"), Error);
    CHECK_THROWS_WITH_AS(make_int8_model_file(loaded, q), doctest::Contains("int8 already"), Error);
    const std::string bad = std::string(PFLD_TEST_TEMP_DIR) + "/int8_bad.pfld";
    auto expect_error = [&](io::ModelFile f, const char* message) {
      f.save(bad);
      CHECK_THROWS_WITH_AS(load_inference_graph(bad), doctest::Contains(message), Error);
    };
    io::ModelFile claims = float_file;
    claims.metadata["quantization"] = "int8";
    expect_error(claims, "missing tensor 'conv1.int8.weight' of an int8 PFLD network");
    claims.metadata["quantization"] = "int4";
    expect_error(claims, "unknown quantization 'int4'");
    io::ModelFile unsigned_bytes = loaded;
    unsigned_bytes.byte_tensors.erase("conv2.int8.weight");
    expect_error(unsigned_bytes, "tensor 'conv2.int8.weight' should be stored as bytes");
    io::ModelFile asymmetric = loaded;
    for (auto& [name, t] : asymmetric.tensors)
      if (name == "stage3.0.expand.int8.weight") t[3] = -128.0f;
    expect_error(asymmetric, "stage3.0.expand.int8.weight holds -128");
    io::ModelFile inverted = loaded;
    for (auto& [name, t] : inverted.tensors)
      if (name == "conv2.range") t[0] = 5.0f, t[1] = 1.0f;
    expect_error(inverted, "conv2.range [5, 1] is not a range");
    io::ModelFile fraction = loaded;
    for (auto& [name, t] : fraction.tensors)
      if (name == "conv2.int8.weight") t[0] = 0.5f;
    CHECK_THROWS_WITH_AS(fraction.serialize(), doctest::Contains("conv2.int8.weight is stored as bytes, but holds 0.5"), Error);
    std::remove(float_path.c_str());
    std::remove(path.c_str());
    std::remove(bad.c_str());
  }

  TEST_CASE("calibration: min_max keeps every value, percentile drops the tails, mse the range of least error") {
    // A graph whose named tensor is its input itself (a 1x1 identity convolution): 4096 x 3 values of
    // a normal distribution.
    GraphNet g;
    const float one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
    const GraphNet::Value x = g.set_input(64, 64, one, zero);
    ConvGeometry pointwise;
    pointwise.in_c = pointwise.out_c = 3;
    std::vector<float> identity(9, 0.0f);
    for (int c = 0; c < 3; ++c) identity[static_cast<std::size_t>(c * 4)] = 1;
    const GraphNet::Value y = g.add_conv(x, pointwise, identity, {0, 0, 0}, Clamp{}, nullptr);
    g.set_name(y, "y");
    g.add_output("y", y);
    g.finish();
    std::vector<float> values(64 * 64 * 3);
    Rng rng(5);
    for (float& v : values) v = rng.normal(0.0f, 1.0f);
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    CalibrationOptions o;
    o.method = RangeMethod::min_max;
    const auto all = calibrate_activations(g, values.data(), 1, o).ranges.at("y");
    CHECK(all.first == *lo);
    CHECK(all.second == *hi);
    o.method = RangeMethod::percentile;
    o.percentile = 99.0;  // 0.5 % each side: about +-2.58
    const auto p99 = calibrate_activations(g, values.data(), 1, o).ranges.at("y");
    CHECK(p99.first == doctest::Approx(-2.58).epsilon(0.05));
    CHECK(p99.second == doctest::Approx(2.58).epsilon(0.05));
    o.method = RangeMethod::mse;
    const auto mse = calibrate_activations(g, values.data(), 1, o).ranges.at("y");
    MESSAGE("normal(0, 1): min_max [" << all.first << ", " << all.second << "], 99 % [" << p99.first << ", " << p99.second
                                     << "], mse [" << mse.first << ", " << mse.second << "]");
    CHECK(mse.second < all.second);  // a normal's far tail costs more steps than it saves
    CHECK(mse.second > 2.0f);
    // Bad input: no inputs; a tensor that is not finite.
    CHECK_THROWS_WITH_AS(calibrate_activations(g, values.data(), 0), doctest::Contains("no inputs"), Error);
    values[7] = std::nanf("");
    CHECK_THROWS_WITH_AS(calibrate_activations(g, values.data(), 1), doctest::Contains("'y' has a value that is not finite"), Error);
    CHECK_THROWS_WITH_AS(ActivationRanges{}.quant_params("conv1"), doctest::Contains("no calibrated range for 'conv1'"), Error);
  }

  TEST_CASE("GraphNet byte tensors: only the int8 steps take them; unsupported int8 layers are refused") {
    GraphNet g;
    const float one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
    const GraphNet::Value x = g.set_input(8, 8, one, zero);
    const GraphNet::Value q = g.add_quantize(x, QuantParams::from_range(0.0f, 1.0f));
    CHECK(g.quantization(q) != nullptr);
    CHECK(g.quantization(x) == nullptr);
    CHECK_THROWS_WITH_AS(g.add_add(q, q, Clamp{}), doctest::Contains("Add of a byte tensor"), Error);
    CHECK_THROWS_WITH_AS(g.add_output("q", q), doctest::Contains("an output of a byte tensor"), Error);
    CHECK_THROWS_WITH_AS(g.add_dequantize(x), doctest::Contains("dequantize of a float tensor"), Error);
    ConvGeometry g5;
    g5.in_c = g5.out_c = g5.groups = 3;
    g5.kernel_h = g5.kernel_w = 5;
    g5.pad_h = g5.pad_w = 2;
    CHECK_THROWS_WITH_AS(g.add_int8_conv(q, g5, quantize_weights(std::vector<float>(75, 0.1f).data(), 3, 25), {0, 0, 0}, Clamp{}, QuantParams{}, nullptr),
                         doctest::Contains("of 3 groups (only dense and 3x3 depthwise layers run in int8)"), Error);
    ConvGeometry pw;
    pw.in_c = pw.out_c = 3;
    CHECK_THROWS_WITH_AS(g.add_int8_conv(x, pw, quantize_weights(std::vector<float>(9, 0.1f).data(), 3, 3), {0, 0, 0}, Clamp{}, QuantParams{}, nullptr),
                         doctest::Contains("an int8 convolution of a float tensor"), Error);
    // quantize -> int8 1x1 (identity) -> dequantize: the input to within half a step.
    std::vector<float> identity(9, 0.0f);
    for (int c = 0; c < 3; ++c) identity[static_cast<std::size_t>(c * 4)] = 1;
    const QuantParams out = QuantParams::from_range(0.0f, 1.0f);
    const GraphNet::Value y = g.add_dequantize(g.add_int8_conv(q, pw, quantize_weights(identity.data(), 3, 3), {0, 0, 0}, Clamp{}, out, nullptr));
    g.add_output("y", y);
    g.finish();
    InferenceArena arena = g.make_arena();
    for (int i = 0; i < 8 * 8 * 3; ++i) g.input(arena)[i] = static_cast<float>(i % 97) / 96.0f;
    std::vector<float> input(g.input(arena), g.input(arena) + 8 * 8 * 3);
    g.run_graph(arena);
    const float* got = g.output(arena, "y");
    for (int i = 0; i < 8 * 8 * 3; ++i) CHECK(std::fabs(got[i] - input[static_cast<std::size_t>(i)]) <= out.scale * 0.5f + 1e-6f);
  }

  TEST_CASE("int8 dense conv (a stem: im2col + the int8 GEMM) computes the quantized layer, the same bytes on every ISA") {
    // 3x3 / 2 over an odd-sized RGB input, padding 1 (the zero point fills it), 20 outputs (a panel and a
    // part), ReLU: against the sums of the dequantized bytes and weights in double, the only error left
    // is the output's rounding.
    ConvGeometry cg;
    cg.in_c = 3, cg.out_c = 20, cg.kernel_h = cg.kernel_w = 3, cg.stride_h = cg.stride_w = 2, cg.pad_h = cg.pad_w = 1;
    const int h = 9, w = 11, oh = 5, ow = 6;
    Rng rng(7);
    std::vector<float> weights(20 * 27), bias(20);
    for (float& v : weights) v = rng.uniform(-1.0f, 1.0f);
    for (float& v : bias) v = rng.uniform(-0.5f, 0.5f);
    const Int8Weights w8 = quantize_weights(weights.data(), 20, 27);
    const QuantParams in = QuantParams::from_range(-0.25f, 1.0f), out = QuantParams::from_range(0.0f, 4.0f);
    std::vector<float> x(static_cast<std::size_t>(h * w * 3));
    for (float& v : x) v = rng.uniform(-0.25f, 1.0f);
    std::vector<std::uint8_t> reference;
    for (Isa isa : test::available_isas()) {
      CAPTURE(to_string(isa));
      GraphNet g(isa);
      const float one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
      const GraphNet::Value q = g.add_quantize(g.set_input(h, w, one, zero), in);
      const GraphNet::Value y = g.add_int8_conv(q, cg, w8, bias, Clamp{0.0f, 1e30f}, out, nullptr);
      REQUIRE(y.h == oh);
      REQUIRE(y.w == ow);
      g.add_output("y", g.add_dequantize(y));
      g.finish();
      InferenceArena arena = g.make_arena();
      std::copy(x.begin(), x.end(), g.input(arena));
      g.run_graph(arena);
      const float* got = g.output(arena, "y");
      std::vector<std::uint8_t> bytes;
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox)
          for (int o = 0; o < 20; ++o) {
            double s = bias[static_cast<std::size_t>(o)];
            for (int ky = 0; ky < 3; ++ky)
              for (int kx = 0; kx < 3; ++kx)
                for (int c = 0; c < 3; ++c) {
                  const int iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  const std::size_t t = static_cast<std::size_t>(o * 27 + (ky * 3 + kx) * 3 + c);
                  s += static_cast<double>(in.dequantize(in.quantize(x[static_cast<std::size_t>((iy * w + ix) * 3 + c)]))) *
                       w8.scales[static_cast<std::size_t>(o)] * w8.values[t];
                }
            const std::size_t i = static_cast<std::size_t>((oy * ow + ox) * 20 + o);
            const double expected = std::clamp(s, 0.0, 4.0);
            CHECK(std::fabs(got[i] - expected) <= out.scale * 0.5 + 1e-4);
            bytes.push_back(out.quantize(got[i]));
          }
      if (reference.empty()) reference = bytes;
      CHECK(bytes == reference);
    }
  }

  TEST_CASE("int8 shipped 0.25X and 1X on a photo's face: landmarks within a pixel of float32's") {
    const std::string photo = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";
    const std::string dir = std::string(PFLD_TEST_FIXTURES_DIR) + "/../../weights/";
    if (!std::filesystem::exists(photo)) {
      MESSAGE("skipped: ", photo, " is absent (Debian's python-matplotlib-data)");
      return;
    }
    const Image image = io::read_image(photo);
    Detector finder = Detector::load(dir + "pfld-0.25x-68.pfld");
    const std::vector<DetectedFace> faces = finder.detect_all(image.view());
    REQUIRE(faces.size() == 1);
    // 40 crops of the face, shifted, scaled and turned: 30 to calibrate on, 10 to compare.
    const Box box = bounding_box(faces[0].landmarks);
    Tensor crops(Shape{40, 112, 112, 3});
    Rng rng(3);
    for (int i = 0; i < 40; ++i) {
      const float side = std::max(box.width, box.height) * rng.uniform(1.1f, 1.4f);
      const CropTransform t = CropTransform::square(box.center_x() + rng.uniform(-0.1f, 0.1f) * side,
                                                    box.center_y() + rng.uniform(-0.1f, 0.1f) * side, side, 112,
                                                    rng.uniform(-0.3f, 0.3f));
      t.warp(image.view(), crops.data() + static_cast<std::size_t>(i) * 112 * 112 * 3);
    }
    for (const std::string name : {"pfld-0.25x-68.pfld", "pfld-1x-68.pfld"}) {
      CAPTURE(name);
      const io::ModelFile file = io::ModelFile::load(dir + name);
      const model::PfldTensorLookup tensors = [&](const std::string& n) -> const Tensor& { return *file.find(n); };
      const auto float_graph = build_inference_graph(file.config, tensors);
      const Int8Network quantized = quantize_network(file.config, tensors, calibrate_activations(*float_graph, crops.data(), 30));
      const auto int8_graph = build_inference_graph(file.config, tensors, active_isa(), &quantized);
      InferenceArena fa = float_graph->make_arena(), qa = int8_graph->make_arena();
      double mean = 0.0, worst = 0.0;
      for (int i = 30; i < 40; ++i) {
        const float* crop = crops.data() + static_cast<std::size_t>(i) * 112 * 112 * 3;
        const float* f = float_graph->run(crop, fa);
        const std::vector<float> want(f, f + 136);
        const float* q = int8_graph->run(crop, qa);
        for (int p = 0; p < 68; ++p) {
          const double d = 112.0 * std::hypot(q[2 * p] - want[static_cast<std::size_t>(2 * p)],
                                              q[2 * p + 1] - want[static_cast<std::size_t>(2 * p + 1)]);
          mean += d / (10 * 68), worst = std::max(worst, d);
        }
      }
      MESSAGE(name, ": int8 against float32 on 10 crops, in crop pixels (of 112): mean ", mean, ", worst ", worst);
      CHECK(mean < 0.4);  // (measured 0.15 and 0.11)
      CHECK(worst < 2.0);
    }
  }

  TEST_CASE("int8 shipped 0.25X on real faces: NME within 0.1 point of float32") {
    const std::string weights = std::string(PFLD_TEST_FIXTURES_DIR) + "/../../weights/pfld-0.25x-68.pfld";
    const std::string data = std::string(PFLD_TEST_DATA_DIR) + "/300w";
    if (!std::filesystem::exists(weights) || !std::filesystem::exists(data + "/val")) {
      MESSAGE("skipped: ", weights, " or ", data, " is absent");
      return;
    }
    std::vector<FaceRecord> train = list_pts_folder(data + "/train"), val = list_pts_folder(data + "/val");
    train.resize(100);
    val.resize(60);
    const FaceSet calibration = load_faces(train, io::ImageReader{}), test = load_faces(val, io::ImageReader{});
    const eval::EvalCrops calibration_crops = eval::make_eval_crops(calibration), crops = eval::make_eval_crops(test);
    const io::ModelFile file = io::ModelFile::load(weights);
    const model::PfldTensorLookup tensors = [&](const std::string& name) -> const Tensor& { return *file.find(name); };
    const auto float_graph = build_inference_graph(file.config, tensors);
    const Int8Network q =
        quantize_network(file.config, tensors, calibrate_activations(*float_graph, calibration_crops.images.data(), 100));
    const auto int8_graph = build_inference_graph(file.config, tensors, active_isa(), &q);
    const double nme_float = eval::evaluate(eval::predict(*float_graph, crops), test).summary.mean_nme;
    const double nme_int8 = eval::evaluate(eval::predict(*int8_graph, crops), test).summary.mean_nme;
    MESSAGE("60 val faces: float32 ", 100 * nme_float, " %, int8 ", 100 * nme_int8, " %");
    CHECK(std::fabs(nme_int8 - nme_float) < 0.001);
  }
}

TEST_SUITE("detector") {
  TEST_CASE("Detector: box in image pixels, the standard crop, landmarks back in image pixels") {
    auto net = random_network(0.25f, 68, 6);
    Detector detector(build_inference_graph(*net));
    const Image image = test_image(240, 200);
    const Box face{60, 40, 90, 120};
    const Landmarks points = detector.detect(image.view(), face);
    REQUIRE(points.size() == 68);

    // The same by hand: crop, training graph, labels -> image.
    const CropTransform crop = CropTransform::from_box(face, 112, 1.2f);
    Tensor input(Shape{1, 112, 112, 3});
    crop.warp(image.view(), input.data());
    const Tensor& labels = net->forward(input);
    // The fused graph's 1e-5 relative error (of the largest label), in image pixels.
    float largest = 0.0f;
    for (float v : labels) largest = std::max(largest, std::abs(v));
    const double tolerance = 1e-5 * largest * 112 * crop.scale() + 1e-4;
    for (std::size_t i = 0; i < 68; ++i) {
      const Point p = crop.label_to_image({labels[static_cast<int>(2 * i)], labels[static_cast<int>(2 * i + 1)]});
      CHECK(std::abs(points[i].x - p.x) < tolerance);
      CHECK(std::abs(points[i].y - p.y) < tolerance);
    }
    // crop_transform is that crop.
    const Point c = detector.crop_transform(face).crop_to_image({55.5f, 55.5f});
    CHECK(c.x == doctest::Approx(face.center_x()));
    CHECK(c.y == doctest::Approx(face.center_y()));

    // Batch over faces equals one at a time; a box partly outside the image is zero-padded, not an error.
    const std::vector<Box> faces = {face, Box{-30, -20, 80, 90}, Box{150, 100, 120, 130}, Box{10, 10, 40, 40}};
    ThreadPool pool(2);
    const std::vector<Landmarks> batch = detector.detect(image.view(), faces, &pool);
    REQUIRE(batch.size() == faces.size());
    for (std::size_t f = 0; f < faces.size(); ++f) {
      const Landmarks one = detector.detect(image.view(), faces[f]);
      for (std::size_t i = 0; i < one.size(); ++i) {
        CHECK(batch[f][i].x == one[i].x);
        CHECK(batch[f][i].y == one[i].y);
      }
    }
    // A copy shares the weights and gives the same answer.
    Detector copy = detector;
    CHECK(copy.detect(image.view(), face)[30].x == points[30].x);

    const HeadPose pose = detector.head_pose(points, face);
    CHECK(std::isfinite(pose.yaw));
    CHECK(std::isfinite(pose.pitch));
    CHECK(std::isfinite(pose.roll));
  }

  TEST_CASE("Detector mirror_average: the mean of the face's and its mirror image's landmarks, point by point") {
    auto net = random_network(0.25f, 68, 9);
    Image image = test_image(240, 200);
    Image flipped(image.width, image.height, PixelFormat::rgb);
    for (int y = 0; y < image.height; ++y)
      for (int x = 0; x < image.width; ++x)
        for (int c = 0; c < 3; ++c) flipped.at(image.width - 1 - x, y)[c] = image.at(x, y)[c];
    const Box face{60, 40, 90, 120};
    // Pixel x of the image is pixel W - 1 - x of the flipped one.
    const float w1 = static_cast<float>(image.width - 1);
    const Box flipped_face{w1 - face.x - face.width, face.y, face.width, face.height};

    Detector plain(build_inference_graph(*net));
    const Landmarks direct = plain.detect(image.view(), face);
    const Landmarks in_flipped = plain.detect(flipped.view(), flipped_face);
    DetectorOptions options;
    options.mirror_average = true;
    Detector averaged(build_inference_graph(*net, options.isa), options);
    const Landmarks points = averaged.detect(image.view(), face);
    REQUIRE(points.size() == 68);
    const MirrorMap map = mirror_map_68();
    double moved = 0.0;  // how far averaging moved the points: the check below is not vacuous
    for (std::size_t i = 0; i < 68; ++i) {
      const Point m = in_flipped[static_cast<std::size_t>(map[i])];
      const Point expected{0.5f * (direct[i].x + (w1 - m.x)), 0.5f * (direct[i].y + m.y)};
      CHECK(std::abs(points[i].x - expected.x) < 1e-2f);
      CHECK(std::abs(points[i].y - expected.y) < 1e-2f);
      moved += std::hypot(points[i].x - direct[i].x, points[i].y - direct[i].y);
    }
    CHECK(moved / 68 > 0.1);

    // Only the built-in 68- and 98-point maps are known.
    auto five = random_network(0.25f, 5, 10);
    CHECK_THROWS_WITH_AS(Detector(build_inference_graph(*five, options.isa), options), doctest::Contains("mirror map"), Error);
  }

  TEST_CASE("Detector refine, not upright: each pass is a plain detect on the box of the landmarks before it") {
    auto net = random_network(0.25f, 68, 11);
    const Image image = test_image(240, 200);
    const Box face{50, 30, 110, 130};
    for (bool mirror_average : {false, true}) {
      CAPTURE(mirror_average);
      DetectorOptions options;
      options.mirror_average = mirror_average;
      options.upright = false;
      Detector single(build_inference_graph(*net, options.isa), options);
      const Landmarks first = single.detect(image.view(), face);
      const Landmarks second = single.detect(image.view(), bounding_box(first));
      const Landmarks third = single.detect(image.view(), bounding_box(second));
      for (int passes : {1, 2}) {
        CAPTURE(passes);
        options.refine = passes;
        Detector refined(build_inference_graph(*net, options.isa), options);
        const Landmarks& expected = passes == 1 ? second : third;
        const Landmarks points = refined.detect(image.view(), face);
        const std::vector<Landmarks> batch = refined.detect(image.view(), std::vector<Box>{face, face});
        REQUIRE(points.size() == 68);
        CHECK(max_distance(points, expected) < 1e-3);
        CHECK(max_distance(batch[1], expected) < 1e-3);
        CHECK(mean_distance(points, first) > 0.1);  // the pass changed the answer: the checks above are not vacuous
      }
    }
    DetectorOptions bad;
    bad.refine = -1;
    CHECK_THROWS_WITH_AS(Detector(build_inference_graph(*net, bad.isa), bad), doctest::Contains("refine"), Error);
  }

  TEST_CASE("Detector refine, upright: each pass runs on the crop around the landmarks before it, turned by their eye line") {
    auto net = random_network(0.25f, 68, 12);
    const auto fused = build_inference_graph(*net);
    InferenceArena arena = fused->make_arena();
    const MirrorMap map = mirror_map_68();
    const Image image = test_image(240, 200);
    const Box face{50, 30, 110, 130};
    // One prediction by hand from a crop (and its mirror image).
    auto by_hand = [&](const CropTransform& crop, bool mirror_average) {
      Landmarks points(68);
      crop.warp(image.view(), fused->input(arena));
      const float* labels = fused->run(arena);
      for (std::size_t i = 0; i < 68; ++i) points[i] = crop.label_to_image({labels[2 * i], labels[2 * i + 1]});
      if (!mirror_average) return points;
      const CropTransform mirrored = crop.mirrored();
      mirrored.warp(image.view(), fused->input(arena));
      labels = fused->run(arena);
      for (std::size_t i = 0; i < 68; ++i) {
        const std::size_t j = static_cast<std::size_t>(map[i]);
        const Point q = mirrored.label_to_image({labels[2 * j], labels[2 * j + 1]});
        points[i] = {0.5f * (points[i].x + q.x), 0.5f * (points[i].y + q.y)};
      }
      return points;
    };
    for (bool mirror_average : {false, true}) {
      CAPTURE(mirror_average);
      DetectorOptions options;
      options.mirror_average = mirror_average;
      const Landmarks first = Detector(build_inference_graph(*net, options.isa), options).detect(image.view(), face);
      Landmarks expected = first;
      for (int passes = 1; passes <= 2; ++passes) {
        CAPTURE(passes);
        const float roll = upright_angle(expected);
        CHECK(std::abs(roll) > 0.05f);  // the crop is turned: the check below is not the unturned refine's
        expected = by_hand(CropTransform::around(expected, 112, 1.2f, roll), mirror_average);
        options.refine = passes;
        Detector refined(build_inference_graph(*net, options.isa), options);
        const Landmarks points = refined.detect(image.view(), face);
        const std::vector<Landmarks> batch = refined.detect(image.view(), std::vector<Box>{face, face});
        options.upright = false;
        const Landmarks unturned = Detector(build_inference_graph(*net, options.isa), options).detect(image.view(), face);
        options.upright = true;
        REQUIRE(points.size() == 68);
        CHECK(max_distance(points, expected) < 1e-3);
        CHECK(max_distance(batch[1], expected) < 1e-3);
        CHECK(mean_distance(points, unturned) > 0.1);
      }
    }
    // track: the first crop is a refine pass's around the previous landmarks, then the refine passes.
    const Landmarks previous = Detector(build_inference_graph(*net)).detect(image.view(), face);
    for (int passes : {0, 1}) {
      CAPTURE(passes);
      DetectorOptions options;
      options.refine = passes;
      Detector tracker(build_inference_graph(*net, options.isa), options);
      Landmarks expected = by_hand(CropTransform::around(previous, 112, 1.2f, upright_angle(previous)), false);
      if (passes == 1) expected = by_hand(CropTransform::around(expected, 112, 1.2f, upright_angle(expected)), false);
      Landmarks points = previous;
      tracker.track(image.view(), points, points);  // in place
      CHECK(max_distance(points, expected) < 1e-3);
    }
    Detector tracker(build_inference_graph(*net));
    CHECK_THROWS_WITH_AS(tracker.track(image.view(), Landmarks(67, Point{100, 100})), doctest::Contains("67 previous landmarks"), Error);
    CHECK_THROWS_WITH_AS(tracker.track(image.view(), Landmarks(68, Point{100, 100})), doctest::Contains("frame nothing"), Error);
    Landmarks bad = previous;
    bad[5].y = std::nanf("");
    CHECK_THROWS_WITH_AS(tracker.track(image.view(), bad), doctest::Contains("landmark 5"), Error);
    Landmarks away = previous;
    const float shift = 240.0f - bounding_box(previous).x + 10.0f;  // the box's left edge 10 px right of the image
    for (Point& p : away) p.x += shift;
    CHECK_THROWS_WITH_AS(tracker.track(image.view(), away), doctest::Contains("outside"), Error);

    // A scheme without known eyes is refined unturned.
    auto five = random_network(0.25f, 5, 13);
    DetectorOptions options;
    options.refine = 1;
    const Landmarks upright = Detector(build_inference_graph(*five, options.isa), options).detect(image.view(), face);
    options.upright = false;
    const Landmarks unturned = Detector(build_inference_graph(*five, options.isa), options).detect(image.view(), face);
    for (std::size_t i = 0; i < 5; ++i) CHECK(upright[i].x == unturned[i].x);
  }

  TEST_CASE("Detector refine, upright, on real faces turned by 45 degrees: the shipped 0.25X finds them again") {
    const std::string weights = std::string(PFLD_TEST_FIXTURES_DIR) + "/../../weights/pfld-0.25x-68.pfld";
    const std::string val = std::string(PFLD_TEST_DATA_DIR) + "/300w/val";
    if (!std::filesystem::exists(weights) || !std::filesystem::exists(val)) {
      MESSAGE("skipped: ", weights, " or ", val, " is absent");
      return;
    }
    std::vector<FaceRecord> records = list_pts_folder(val);
    records.resize(24);
    DetectorOptions plain, upright;
    upright.refine = 2;
    Detector once = Detector::load(weights, plain), refined = Detector::load(weights, upright);
    std::vector<float> before, after, tracked;
    DetectorOptions no_refine;
    Detector tracker = Detector::load(weights, no_refine);
    for (std::size_t i = 0; i < records.size(); ++i) {
      const Image image = io::read_image(records[i].image_path);
      const Box b = bounding_box(records[i].landmarks);
      const TurnedFace turned = turn_face(image.view(), records[i].landmarks, {b.center_x(), b.center_y()}, i % 2 ? 45.0f : -45.0f);
      const Box box = bounding_box(turned.landmarks);
      before.push_back(eval::nme(once.detect(turned.image.view(), box), turned.landmarks));
      after.push_back(eval::nme(refined.detect(turned.image.view(), box), turned.landmarks));
      tracked.push_back(eval::nme(tracker.track(turned.image.view(), turned.landmarks), turned.landmarks));
    }
    const double nme_before = eval::summarize(before).mean_nme, nme_after = eval::summarize(after).mean_nme;
    const double nme_tracked = eval::summarize(tracked).mean_nme;
    MESSAGE("24 validation faces turned by 45 degrees: one pass ", 100 * nme_before, " %, two upright passes ", 100 * nme_after,
            " %, one pass tracked from the annotation ", 100 * nme_tracked, " %");
    CHECK(nme_before > 0.08);   // all 145: 12.3 % measured
    CHECK(nme_after < 0.05);    // all 145: 3.83 % measured
    CHECK(nme_tracked < 0.05);  // all 145, pfld_eval-style: see weights/README.md
  }

  TEST_CASE("Detector: bad input is a pfld::Error that says what is wrong") {
    auto net = random_network(0.25f, 68, 7);
    Detector detector(build_inference_graph(*net));
    const Image image = test_image(100, 80);
    const float nan = std::nanf("");
    CHECK_THROWS_WITH_AS(detector.detect(ImageView(), Box{0, 0, 10, 10}), doctest::Contains("empty"), Error);
    CHECK_THROWS_WITH_AS(detector.detect(image.view(), Box{10, 10, 0, 20}), doctest::Contains("not positive"), Error);
    CHECK_THROWS_WITH_AS(detector.detect(image.view(), Box{10, 10, -5, 20}), doctest::Contains("not positive"), Error);
    CHECK_THROWS_WITH_AS(detector.detect(image.view(), Box{nan, 10, 5, 20}), doctest::Contains("non-finite"), Error);
    CHECK_THROWS_WITH_AS(detector.detect(image.view(), Box{200, 10, 50, 50}), doctest::Contains("outside"), Error);
    CHECK_THROWS_WITH_AS(detector.detect(image.view(), Box{-60, -60, 50, 50}), doctest::Contains("outside"), Error);
    CHECK_THROWS_WITH_AS(detector.detect(image.view(), std::vector<Box>{Box{0, 0, 10, 10}, Box{500, 0, 10, 10}}),
                         doctest::Contains("outside"), Error);
    DetectorOptions want98;
    want98.landmarks = 98;
    CHECK_THROWS_WITH_AS(Detector(build_inference_graph(*net, want98.isa), want98), doctest::Contains("98"), Error);
    CHECK_THROWS_WITH_AS(Detector::load(std::string(PFLD_TEST_TEMP_DIR) + "/no-such-weights.pfld"),
                         doctest::Contains("no-such-weights"), Error);
    CHECK_THROWS_AS(detector.head_pose(Landmarks(5), Box{0, 0, 10, 10}), Error);
  }

  TEST_CASE("Detector::load reads a weights file and matches the network it was saved from") {
    auto net = random_network(0.25f, 68, 8);
    const std::string path = std::string(PFLD_TEST_TEMP_DIR) + "/infer_test.pfld";
    train::save_weights(path, *net);
    Detector from_file = Detector::load(path);
    Detector in_memory(build_inference_graph(*net));
    const Image image = test_image(120, 120);
    const Landmarks a = from_file.detect(image.view(), Box{20, 20, 80, 80});
    const Landmarks b = in_memory.detect(image.view(), Box{20, 20, 80, 80});
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].x == b[i].x);
  }
}
