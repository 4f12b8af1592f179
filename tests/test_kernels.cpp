// Every fast kernel against the scalar reference, for every ISA this machine (or qemu) runs, over
// edge-case shapes: channels around the vector widths, width 1, stride 2, odd sizes, batch > 1.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <pfld/pfld.hpp>

#include "support/gradcheck.hpp"
#include "support/random_model.hpp"

using namespace pfld;

namespace {

// C = A * B in double, A (m x k) and B (k x n) given as views.
Tensor naive_gemm(int m, int n, int k, const kernels::MatrixView& a, const kernels::MatrixView& b) {
  Tensor c(Shape{m, n});
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0.0;
      for (int p = 0; p < k; ++p) s += static_cast<double>(a(i, p)) * b(p, j);
      c[static_cast<std::size_t>(i * n + j)] = static_cast<float>(s);
    }
  return c;
}

// A 3x3, padding-1 depthwise layer of one h x w x c image.
ConvGeometry depthwise_3x3(int h, int w, int c, int stride) {
  ConvGeometry g;
  g.in_h = h;
  g.in_w = w;
  g.in_c = g.out_c = g.groups = c;
  g.kernel_h = g.kernel_w = 3;
  g.stride_h = g.stride_w = stride;
  g.pad_h = g.pad_w = 1;
  return g;
}

// The 2x2, stride-2 max pool of an h x w x c image (odd last row or column dropped), by the definition.
std::vector<float> max_pool_2x2(const float* x, int h, int w, int c) {
  const int oh = h / 2, ow = w / 2;
  const std::size_t cc = static_cast<std::size_t>(c);
  std::vector<float> y(static_cast<std::size_t>(oh) * ow * cc);
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox)
      for (std::size_t k = 0; k < cc; ++k) {
        auto at = [&](int iy, int ix) { return x[(static_cast<std::size_t>(iy) * w + ix) * cc + k]; };
        y[(static_cast<std::size_t>(oy) * ow + ox) * cc + k] = std::max(std::max(at(2 * oy, 2 * ox), at(2 * oy, 2 * ox + 1)),
                                                                       std::max(at(2 * oy + 1, 2 * ox), at(2 * oy + 1, 2 * ox + 1)));
      }
  return y;
}

// Elements of `got` that differ from `expected` (over expected's size).
int count_differing(const std::vector<float>& got, const std::vector<float>& expected) {
  int wrong = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) wrong += got[i] != expected[i];
  return wrong;
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("the kernel table: each ISA compiled here its own kernels, complete; the reference for the rest") {
    for (Isa isa : {Isa::ref, Isa::avx2, Isa::avx512, Isa::neon}) {
      CAPTURE(std::string(to_string(isa)));
      const kernels::KernelTable& t = kernels::kernel_table(isa);
      // Per ISA this build compiles (whether this CPU runs it is active_isa's business).
#if defined(PFLD_ARCH_X86_64)
      CHECK(isa_compiled(isa) == (isa == Isa::ref || isa == Isa::avx2 || isa == Isa::avx512));  // (the default set)
#elif defined(PFLD_ARCH_AARCH64)
      CHECK(isa_compiled(isa) == (isa == Isa::ref || isa == Isa::neon));
#endif
      CHECK(t.isa == (isa_compiled(isa) ? isa : Isa::ref));
      CHECK((t.gemm.run != nullptr && t.gemm_narrow.run != nullptr));
      for (const void* entry : {reinterpret_cast<const void*>(t.direct_conv_forward_rows),
                                reinterpret_cast<const void*>(t.depthwise_forward_rows),
                                reinterpret_cast<const void*>(t.depthwise_max_pool_rows),
                                reinterpret_cast<const void*>(t.add_clamped),
                                reinterpret_cast<const void*>(t.add_upsampled),
                                reinterpret_cast<const void*>(t.max_pool_2x2_rows),
                                reinterpret_cast<const void*>(t.depthwise_backward_input_rows),
                                reinterpret_cast<const void*>(t.depthwise_backward_weights_block),
                                reinterpret_cast<const void*>(t.batch_norm_block_stats),
                                reinterpret_cast<const void*>(t.batch_norm_normalize_rows),
                                reinterpret_cast<const void*>(t.batch_norm_backward_sums[0]),
                                reinterpret_cast<const void*>(t.batch_norm_backward_sums[1]),
                                reinterpret_cast<const void*>(t.batch_norm_backward_dx[0]),
                                reinterpret_cast<const void*>(t.batch_norm_backward_dx[1])})
        CHECK(entry != nullptr);
      if (t.isa == Isa::ref) {
        CHECK((t.depthwise_forward_rows == kernels::kernel_table(Isa::ref).depthwise_forward_rows));
        CHECK(!t.warp_gathers);
      } else {
        CHECK((t.depthwise_forward_rows != kernels::kernel_table(Isa::ref).depthwise_forward_rows));
      }
    }
  }

  TEST_CASE("GEMM: every ISA against a double-precision product, all edge shapes") {
    Rng rng(31);
    ThreadPool pool(2);
    for (Isa isa : test::available_isas()) {
      CAPTURE(std::string(to_string(isa)));
      for (int m : {1, 5, 6, 7, 8, 9, 13, 16, 17, 31, 97, 200})
        for (int n : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 70})
          for (int k : {1, 3, 16, 257}) {
            CAPTURE(m);
            CAPTURE(n);
            CAPTURE(k);
            const Tensor a = test::random_tensor(Shape{m, k}, rng), b = test::random_tensor(Shape{k, n}, rng);
            const Tensor at = test::random_tensor(Shape{k, m}, rng), bt = test::random_tensor(Shape{n, k}, rng);
            // Plain, then both operands transposed (as the weight gradient uses them), with accumulation.
            Tensor c(Shape{m, n});
            kernels::gemm(isa, m, n, k, kernels::row_major(a.data(), k), kernels::row_major(b.data(), n), c.data(),
                          static_cast<std::size_t>(n), false, (m * n) % 2 ? &pool : nullptr);
            CHECK(test::relative_error(c, naive_gemm(m, n, k, kernels::row_major(a.data(), k),
                                                     kernels::row_major(b.data(), n))) < 1e-5);
            Tensor d = test::random_tensor(Shape{m, n}, rng);
            const Tensor d0 = d.clone();
            kernels::gemm(isa, m, n, k, kernels::transposed(at.data(), m), kernels::transposed(bt.data(), k), d.data(),
                          static_cast<std::size_t>(n), true, &pool);
            Tensor expected = naive_gemm(m, n, k, kernels::transposed(at.data(), m), kernels::transposed(bt.data(), k));
            for (std::size_t i = 0; i < expected.numel(); ++i) expected[i] += d0[i];
            CHECK(test::relative_error(d, expected) < 1e-5);
          }
    }
  }

  TEST_CASE("prepacked GEMM with its epilogue (bias, residual, each kind of clamp), padded strides, every ISA") {
    Rng rng(37);
    const float inf = std::numeric_limits<float>::infinity();
    struct Bounds {
      float lo, hi;
    };
    for (Isa isa : test::available_isas()) {
      CAPTURE(std::string(to_string(isa)));
      for (int m : {1, 5, 12, 13, 25, 32, 45})  // (45: three 14-row tiles and an edge)
        for (int n : {7, 16, 24, 33, 70})       // (one panel of either kernel, or several)
          for (int k : {3, 64, 300})  // 300: two k blocks, the epilogue only on the last
            for (const Bounds bounds : {Bounds{-inf, inf}, Bounds{0.0f, inf}, Bounds{-inf, 0.5f}, Bounds{0.0f, 0.5f}})
              for (bool residual : {false, true}) {
                CAPTURE(m);
                CAPTURE(n);
                CAPTURE(k);
                CAPTURE(bounds.lo);
                CAPTURE(bounds.hi);
                CAPTURE(residual);
                const int lda = k + 5, ldc = n + 3, ldr = n + 1;  // strides past the row ends
                const Tensor a = test::random_tensor(Shape{m, lda}, rng), b = test::random_tensor(Shape{k, n}, rng);
                const Tensor bias = test::random_tensor(Shape{n}, rng), res = test::random_tensor(Shape{m, ldr}, rng);
                const kernels::PackedMatrix packed(isa, k, n, kernels::row_major(b.data(), n));
                kernels::GemmEpilogue e;
                e.bias = bias.data();
                e.residual = residual ? res.data() : nullptr;
                e.residual_stride = static_cast<std::size_t>(ldr);
                e.lo = bounds.lo;
                e.hi = bounds.hi;
                Tensor c(Shape{m, ldc});
                c.fill(-7.0f);
                kernels::gemm_prepacked(m, a.data(), static_cast<std::size_t>(lda), packed, c.data(),
                                        static_cast<std::size_t>(ldc), e);
                const Tensor product = naive_gemm(m, n, k, {a.data(), lda, 1}, kernels::row_major(b.data(), n));
                Tensor got(Shape{m, n}), expected(Shape{m, n});
                bool padding_kept = true;
                for (int i = 0; i < m; ++i) {
                  for (int j = 0; j < n; ++j) {
                    const std::size_t at = static_cast<std::size_t>(i * n + j);
                    float v = product[at] + bias[j] + (residual ? res[static_cast<std::size_t>(i * ldr + j)] : 0.0f);
                    expected[at] = std::min(std::max(v, bounds.lo), bounds.hi);
                    got[at] = c[static_cast<std::size_t>(i * ldc + j)];
                  }
                  for (int j = n; j < ldc; ++j) padding_kept &= c[static_cast<std::size_t>(i * ldc + j)] == -7.0f;
                }
                CHECK(test::relative_error(got, expected) < 1e-5);
                CHECK(padding_kept);
              }
    }
  }

  TEST_CASE("convolution fast paths against the reference: forward, input and weight gradients") {
    struct Case {
      const char* name;
      int n, h, w, cin, cout, k, stride, pad, groups;
    };
    std::vector<Case> cases;
    for (int c : {1, 7, 8, 9, 15, 16, 17, 33}) {
      cases.push_back({"pointwise", 2, 5, 3, c, c + 2, 1, 1, 0, 1});
      cases.push_back({"pointwise to c", 1, 3, 1, 5, c, 1, 1, 0, 1});
      cases.push_back({"depthwise 3x3/1", 2, 7, 5, c, c, 3, 1, 1, c});
      cases.push_back({"depthwise 3x3/2", 2, 9, 7, c, c, 3, 2, 1, c});
      cases.push_back({"depthwise width 1", 2, 5, 1, c, c, 3, 1, 1, c});
      // Rows wide enough for the 8- and 4-pixel tiles and a general remainder (1 + 8 + 4 + ...).
      cases.push_back({"depthwise 3x3/1 wide", 1, 4, 22, c, c, 3, 1, 1, c});
      cases.push_back({"depthwise 3x3/2 wide", 1, 5, 23, c, c, 3, 2, 1, c});
      // Rows of 7-pixel tiles (widths a multiple of 7 but not of 8), with and without right padding.
      cases.push_back({"depthwise 3x3/1 one 7", 1, 3, 7, c, c, 3, 1, 1, c});
      cases.push_back({"depthwise 3x3/1 7 + 7", 1, 3, 14, c, c, 3, 1, 1, c});
      cases.push_back({"depthwise 3x3/2 7 + 7", 1, 5, 28, c, c, 3, 2, 1, c});
      cases.push_back({"depthwise 3x3/2 7 + 7, padded right", 1, 5, 27, c, c, 3, 2, 1, c});
    }
    cases.push_back({"stem 3x3/2", 2, 15, 13, 3, 16, 3, 2, 1, 1});
    cases.push_back({"dense 3x3/2 to 32", 2, 14, 14, 16, 32, 3, 2, 1, 1});
    cases.push_back({"dense 3x3 pad 0", 3, 6, 7, 9, 10, 3, 1, 0, 1});
    cases.push_back({"7x7 valid", 3, 7, 7, 32, 19, 7, 1, 0, 1});
    cases.push_back({"1x1 stride 2 (im2col)", 2, 7, 7, 9, 11, 1, 2, 0, 1});
    cases.push_back({"grouped (reference)", 2, 5, 5, 6, 9, 3, 1, 1, 3});

    ThreadPool pool(2);
    Rng rng(32);
    for (Isa isa : test::available_isas()) {
      if (isa == Isa::ref) continue;
      for (const Case& c : cases) {
        CAPTURE(std::string(to_string(isa)));
        CAPTURE(c.name);
        CAPTURE(c.cin);
        ConvGeometry g;
        g.batch = c.n;
        g.in_h = c.h;
        g.in_w = c.w;
        g.in_c = c.cin;
        g.out_c = c.cout;
        g.kernel_h = g.kernel_w = c.k;
        g.stride_h = g.stride_w = c.stride;
        g.pad_h = g.pad_w = c.pad;
        g.groups = c.groups;
        const Shape x_shape{c.n, c.h, c.w, c.cin}, y_shape{c.n, g.out_h(), g.out_w(), c.cout};
        const Tensor x = test::random_tensor(x_shape, rng), dy = test::random_tensor(y_shape, rng);
        const Tensor w = test::random_tensor(Shape{c.cout, c.k, c.k, c.cin / c.groups}, rng);
        const Tensor bias = test::random_tensor(Shape{c.cout}, rng);

        Tensor y_ref(y_shape), y(y_shape);
        kernels::ref::conv2d_forward(g, x.data(), w.data(), bias.data(), y_ref.data());
        kernels::ConvWorkspace ws;
        kernels::conv2d_forward(isa, g, x.data(), w.data(), bias.data(), y.data(), ws, &pool);
        CHECK(test::relative_error(y, y_ref) < 1e-5);

        Tensor dw_ref = test::random_tensor(w.shape(), rng), db_ref = test::random_tensor(bias.shape(), rng);
        Tensor dw = dw_ref.clone(), db = db_ref.clone();  // gradients accumulate onto what is there
        kernels::ref::conv2d_backward_weights(g, x.data(), dy.data(), dw_ref.data(), db_ref.data());
        kernels::conv2d_backward_weights(isa, g, x.data(), dy.data(), dw.data(), db.data(), ws, &pool);
        CHECK(test::relative_error(dw, dw_ref) < 1e-5);
        CHECK(test::relative_error(db, db_ref) < 1e-5);

        Tensor dx_ref(x_shape), dx = test::random_tensor(x_shape, rng);  // overwritten, whatever was there
        kernels::ref::conv2d_backward_input(g, dy.data(), w.data(), dx_ref.data());
        kernels::conv2d_backward_input(isa, g, dy.data(), w.data(), dx.data(), ws, nullptr);
        CHECK(test::relative_error(dx, dx_ref) < 1e-5);
      }
    }
  }

  TEST_CASE("element-wise kernels (add with clamp, add of an upsampled tensor, 2x2 max pooling) equal plain loops, every ISA") {
    Rng rng(41);
    for (Isa isa : test::available_isas()) {
      CAPTURE(std::string(to_string(isa)));
      const kernels::KernelTable& table = kernels::kernel_table(isa);
      for (int count : {0, 1, 7, 16, 17, 40}) {
        CAPTURE(count);
        const Tensor a = test::random_tensor(Shape{count + 1}, rng), b = test::random_tensor(Shape{count + 1}, rng);
        std::vector<float> out(static_cast<std::size_t>(count) + 1, -7.0f);
        table.add_clamped(static_cast<std::size_t>(count), a.data(), b.data(), out.data(), -0.5f, 0.75f);
        int wrong = 0;
        for (int i = 0; i < count; ++i) wrong += out[static_cast<std::size_t>(i)] != std::min(std::max(a[i] + b[i], -0.5f), 0.75f);
        CHECK(wrong == 0);
        CHECK(out[static_cast<std::size_t>(count)] == -7.0f);  // nothing past the end
      }
      for (int c : {1, 3, 16, 20, 64})
        for (int f : {1, 2, 3}) {
          CAPTURE(c);
          CAPTURE(f);
          const int h = 2 * f, w = 3 * f;
          const Tensor a = test::random_tensor(Shape{h, w, c}, rng), low = test::random_tensor(Shape{2, 3, c}, rng);
          std::vector<float> out(static_cast<std::size_t>(h) * w * c + 1, -7.0f);
          table.add_upsampled(h, w, c, f, f, a.data(), low.data(), out.data(), -0.25f, 1.0f);
          int wrong = 0;
          for (int r = 0; r < h; ++r)
            for (int col = 0; col < w; ++col)
              for (int k = 0; k < c; ++k) {
                const std::size_t at = (static_cast<std::size_t>(r) * w + col) * c + k;
                const float up = low[(static_cast<std::size_t>(r / f) * 3 + col / f) * c + k];
                wrong += out[at] != std::min(std::max(a[at] + up, -0.25f), 1.0f);
              }
          CHECK(wrong == 0);
          CHECK(out.back() == -7.0f);
        }
      for (int c : {1, 3, 16, 20, 64})
        for (int h : {2, 5})
          for (int w : {2, 7}) {
            CAPTURE(c);
            CAPTURE(h);
            CAPTURE(w);
            const int oh = h / 2, ow = w / 2;
            const Tensor x = test::random_tensor(Shape{h, w, c}, rng);
            std::vector<float> y(static_cast<std::size_t>(oh) * ow * c + 1, -7.0f);
            table.max_pool_2x2_rows(w, c, x.data(), y.data(), 0, 1);  // rows in two calls
            table.max_pool_2x2_rows(w, c, x.data(), y.data(), 1, static_cast<std::size_t>(oh));
            CHECK(count_differing(y, max_pool_2x2(x.data(), h, w, c)) == 0);
            CHECK(y.back() == -7.0f);
          }
    }
  }

  TEST_CASE("quantize_u8 / dequantize_u8: round(x / s + z) clamped to bytes, and back; every ISA equals the definition") {
    Rng rng(43);
    const float scale = 0.05f, zero = 37.0f;
    for (Isa isa : test::available_isas()) {
      CAPTURE(std::string(to_string(isa)));
      const kernels::KernelTable& table = kernels::kernel_table(isa);
      for (int count : {0, 1, 7, 16, 17, 40, 67}) {
        CAPTURE(count);
        std::vector<float> x(static_cast<std::size_t>(count));
        for (float& v : x) v = rng.uniform(-3.0f, 12.0f);  // beyond both ends of [-1.85, 10.9]
        if (count > 2) x[1] = (3.5f - zero) * scale, x[2] = (4.5f - zero) * scale;  // near ties
        std::vector<std::uint8_t> q(static_cast<std::size_t>(count) + 1, 201);
        table.quantize_u8(x.size(), x.data(), 1.0f / scale, zero, q.data());
        int wrong = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
          const float v = std::min(std::max(std::fma(x[i], 1.0f / scale, zero), 0.0f), 255.0f);
          wrong += q[i] != static_cast<std::uint8_t>(std::nearbyint(v));
        }
        CHECK(wrong == 0);
        CHECK(q.back() == 201);  // nothing past the end
        std::vector<float> back(static_cast<std::size_t>(count) + 1, -7.0f);
        table.dequantize_u8(x.size(), q.data(), scale, zero, back.data());
        wrong = 0;
        for (std::size_t i = 0; i < x.size(); ++i) wrong += back[i] != (static_cast<float>(q[i]) - zero) * scale;
        CHECK(wrong == 0);
        CHECK(back.back() == -7.0f);
      }
    }
  }

  TEST_CASE("depthwise + 2x2 max pool in one pass equals the two apart, every ISA") {
    Rng rng(43);
    for (Isa isa : test::available_isas())
      for (int c : {16, 48})
        for (int h : {2, 6})
          for (int w : {2, 14, 20}) {
            CAPTURE(std::string(to_string(isa)));
            CAPTURE(c);
            CAPTURE(h);
            CAPTURE(w);
            const ConvGeometry g = depthwise_3x3(h, w, c, 1);
            REQUIRE(kernels::depthwise_max_pool_suits(g));
            const std::size_t cc = static_cast<std::size_t>(c), pixels = static_cast<std::size_t>(h) * w, x_pitch = cc + 16;
            const Tensor x = test::random_tensor(Shape{static_cast<int>(pixels), c}, rng);
            const Tensor wt = test::random_tensor(Shape{9, c}, rng), bias = test::random_tensor(Shape{c}, rng);
            const Clamp clamp{-0.5f, 2.0f};
            Tensor full(Shape{static_cast<int>(pixels), c});
            kernels::depthwise_forward_fused(isa, g, x.data(), wt.data(), bias.data(), clamp, full.data());
            std::vector<float> xp(pixels * x_pitch, 1e30f);  // (a read of the padding would show)
            for (std::size_t p = 0; p < pixels; ++p) std::copy_n(x.data() + p * cc, cc, xp.data() + p * x_pitch);
            const int oh = h / 2, ow = w / 2;
            std::vector<float> y(static_cast<std::size_t>(oh) * ow * cc + 1, -7.0f), scratch(2 * static_cast<std::size_t>(w) * cc);
            const kernels::KernelTable& table = kernels::kernel_table(isa);
            table.depthwise_max_pool_rows(g, xp.data(), x_pitch, wt.data(), bias.data(), clamp, scratch.data(), y.data(), 0, 1);
            table.depthwise_max_pool_rows(g, xp.data(), x_pitch, wt.data(), bias.data(), clamp, scratch.data(), y.data(), 1,
                                          static_cast<std::size_t>(oh));
            CHECK(count_differing(y, max_pool_2x2(full.data(), h, w, c)) == 0);
            CHECK(y.back() == -7.0f);
          }
  }

  TEST_CASE("depthwise with padded pixel pitches (the inference arena's) equals the dense result, every ISA") {
    Rng rng(35);
    for (Isa isa : test::available_isas())
      for (int c : {7, 16, 33, 128})
        for (int stride : {1, 2})
          for (int w : {1, 14, 23}) {
            CAPTURE(std::string(to_string(isa)));
            CAPTURE(c);
            CAPTURE(stride);
            CAPTURE(w);
            const ConvGeometry g = depthwise_3x3(5, w, c, stride);
            const std::size_t in_pixels = static_cast<std::size_t>(g.in_h) * g.in_w;
            const std::size_t out_pixels = static_cast<std::size_t>(g.out_h()) * g.out_w();
            const std::size_t cc = static_cast<std::size_t>(c), x_pitch = cc + 16, y_pitch = cc + 5;
            const Tensor x = test::random_tensor(Shape{static_cast<int>(in_pixels), c}, rng);
            const Tensor wt = test::random_tensor(Shape{9, c}, rng), bias = test::random_tensor(Shape{c}, rng);
            const Clamp clamp{-3.0f, 3.0f};  // (a read of kUnread shows as a clamped +-3)
            Tensor dense(Shape{static_cast<int>(out_pixels), c});
            kernels::depthwise_forward_fused(isa, g, x.data(), wt.data(), bias.data(), clamp, dense.data());

            constexpr float kUnread = 1e30f;  // in x's padding: any read of it shows in the output
            constexpr float kUntouched = -7.0f;
            std::vector<float> xp(in_pixels * x_pitch, kUnread), yp(out_pixels * y_pitch, kUntouched);
            for (std::size_t p = 0; p < in_pixels; ++p) std::copy_n(x.data() + p * cc, cc, xp.data() + p * x_pitch);
            kernels::depthwise_forward_fused(isa, g, xp.data(), wt.data(), bias.data(), clamp, yp.data(), x_pitch, y_pitch);
            int wrong = 0, overwritten = 0;
            for (std::size_t p = 0; p < out_pixels; ++p)
              for (std::size_t k = 0; k < y_pitch; ++k) {
                const float v = yp[p * y_pitch + k];
                if (k < cc)
                  wrong += v != dense[p * cc + k];
                else
                  overwritten += v != kUntouched;
              }
            CHECK(wrong == 0);
            CHECK(overwritten == 0);
          }
  }

  TEST_CASE("stride-1 depthwise in place, its output pad + 1 rows behind its input, in row ranges, every ISA") {
    Rng rng(36);
    for (Isa isa : test::available_isas())
      for (int c : {7, 64, 144})  // 144: channel blocks (the kernel's L1 row budget splits wide rows)
        for (int w : {1, 14, 56}) {
          CAPTURE(std::string(to_string(isa)));
          CAPTURE(c);
          CAPTURE(w);
          const ConvGeometry g = depthwise_3x3(9, w, c, 1);
          const std::size_t pixels = static_cast<std::size_t>(g.in_h) * g.in_w, cc = static_cast<std::size_t>(c);
          const std::size_t lag = 2 * static_cast<std::size_t>(w) * cc;  // (pad + 1) rows
          const Tensor x = test::random_tensor(Shape{static_cast<int>(pixels), c}, rng);
          const Tensor wt = test::random_tensor(Shape{9, c}, rng), bias = test::random_tensor(Shape{c}, rng);
          const Clamp clamp{-3.0f, 3.0f};
          Tensor expected(Shape{static_cast<int>(pixels), c});
          kernels::depthwise_forward_fused(isa, g, x.data(), wt.data(), bias.data(), clamp, expected.data());

          std::vector<float> buffer(lag + pixels * cc, 0.0f);
          std::copy(x.begin(), x.end(), buffer.begin() + static_cast<std::ptrdiff_t>(lag));
          kernels::depthwise_forward_fused(isa, g, buffer.data() + lag, wt.data(), bias.data(), clamp, buffer.data(), 0, 0, 0, 4);
          kernels::depthwise_forward_fused(isa, g, buffer.data() + lag, wt.data(), bias.data(), clamp, buffer.data(), 0, 0, 4, 9);
          int wrong = 0;
          for (std::size_t i = 0; i < pixels * cc; ++i) wrong += buffer[i] != expected[i];
          CHECK(wrong == 0);
        }
  }

  TEST_CASE("direct convolution (the inference stem) against the reference, every ISA, rows in two calls") {
    struct Case {
      int n, h, w, cin, k, stride, pad;
    };
    const Case shapes[] = {{2, 15, 13, 3, 3, 2, 1}, {1, 16, 16, 3, 3, 2, 1}, {2, 7, 5, 1, 3, 1, 1},
                           {1, 9, 11, 4, 5, 1, 2}, {1, 6, 1, 2, 3, 1, 1},   {1, 8, 9, 3, 3, 2, 0},
                           {1, 3, 3, 3, 3, 1, 0},  {1, 5, 40, 3, 3, 1, 1},  // (RGB, stride 1: whole tiles)
                           // rows as wide as the stem's (56 out: whole tiles of 7 and 14), and rows too
                           // wide for the zero-padded copy (3 x 702 x 3 floats), which take the border path
                           {1, 5, 112, 3, 3, 2, 1},  {1, 4, 700, 3, 3, 2, 1},
                           // row pairs (3x3 stride 2, one vector of channels): copied and in place, odd
                           // heights, a split between the two calls inside a pair, pads 0 and 1
                           {2, 11, 37, 3, 3, 2, 1},  {1, 12, 700, 3, 3, 2, 1}, {1, 13, 701, 2, 3, 2, 0}};
    Rng rng(36);
    for (Isa isa : test::available_isas())
      for (const Case& c : shapes)
        for (int cout : {1, 3, 8, 9, 16, 17, 33, 64, 70}) {
          CAPTURE(std::string(to_string(isa)));
          CAPTURE(c.h);
          CAPTURE(c.w);
          CAPTURE(c.cin);
          CAPTURE(c.k);
          CAPTURE(cout);
          ConvGeometry g;
          g.batch = c.n, g.in_h = c.h, g.in_w = c.w, g.in_c = c.cin, g.out_c = cout;
          g.kernel_h = g.kernel_w = c.k;
          g.stride_h = g.stride_w = c.stride;
          g.pad_h = g.pad_w = c.pad;
          REQUIRE(kernels::direct_conv_suits(g));
          const Shape y_shape{c.n, g.out_h(), g.out_w(), cout};
          const Tensor x = test::random_tensor(Shape{c.n, c.h, c.w, c.cin}, rng);
          const Tensor w = test::random_tensor(Shape{cout, c.k, c.k, c.cin}, rng);
          const Tensor bias = test::random_tensor(Shape{cout}, rng);
          const Clamp clamp{-0.5f, 0.75f};
          Tensor expected(y_shape);
          kernels::ref::conv2d_forward(g, x.data(), w.data(), bias.data(), expected.data());
          for (std::size_t i = 0; i < expected.numel(); ++i)
            expected[i] = std::min(std::max(expected[i], clamp.lo), clamp.hi);
          const kernels::DirectConvWeights packed(g, w.data(), bias.data());
          Tensor y = test::random_tensor(y_shape, rng);  // every element overwritten
          const std::size_t rows = static_cast<std::size_t>(c.n) * g.out_h(), half = rows / 2;
          kernels::direct_conv_forward(isa, g, x.data(), packed, clamp, y.data(), 0, half);
          kernels::direct_conv_forward(isa, g, x.data(), packed, clamp, y.data(), half, rows);
          CHECK(test::relative_error(y, expected) < 1e-5);
        }
  }

  TEST_CASE("batch norm (threaded, activation fused; train and eval) against the reference, every ISA") {
    ThreadPool pool(2);
    Rng rng(33);
    kernels::BatchNormScratch scratch;  // one for every shape: it grows and is reused, as in a network
    for (Isa isa : test::available_isas())
      for (Activation act : {Activation::identity, Activation::relu, Activation::relu6})
        for (std::size_t rows : {3u, 7u, 256u, 257u, 3000u})  // (with 2 rows xhat = +-1 and dx is pure rounding)
          for (int channels : {1, 7, 16, 17, 40}) {
            CAPTURE(std::string(to_string(isa)));
            CAPTURE(std::string(to_string(act)));
            CAPTURE(rows);
            CAPTURE(channels);
            const Shape shape{static_cast<int>(rows), channels}, per_channel{channels};
            const Tensor x = test::random_tensor(shape, rng, -3.0f, 9.0f), dy = test::random_tensor(shape, rng);
            const Tensor gamma = test::random_tensor(per_channel, rng, 0.5f, 2.0f), beta = test::random_tensor(per_channel, rng, -1.0f, 4.0f);
            Tensor y_ref(shape), mean_ref(per_channel), var_ref(per_channel), inv_ref(per_channel);
            kernels::ref::batch_norm_forward_train(rows, channels, x.data(), gamma.data(), beta.data(), 1e-5f, y_ref.data(),
                                                   mean_ref.data(), var_ref.data(), inv_ref.data());
            kernels::ref::activation_forward(act, y_ref.numel(), y_ref.data(), y_ref.data());
            Tensor y(shape), mean(per_channel), var(per_channel), inv(per_channel);
            kernels::batch_norm_train_forward(isa, rows, channels, x.data(), gamma.data(), beta.data(), 1e-5f, act, y.data(),
                                              mean.data(), var.data(), inv.data(), scratch, rows % 2 ? &pool : nullptr);
            CHECK(test::relative_error(y, y_ref) < 1e-5);
            CHECK(test::relative_error(mean, mean_ref) < 1e-5);
            CHECK(test::relative_error(var, var_ref) < 1e-5);

            Tensor masked(shape), dx_ref(shape), dg_ref(per_channel), db_ref(per_channel);
            kernels::ref::activation_backward(act, dy.numel(), y_ref.data(), dy.data(), masked.data());
            kernels::ref::batch_norm_backward_train(rows, channels, x.data(), masked.data(), gamma.data(), mean_ref.data(),
                                                    inv_ref.data(), dx_ref.data(), dg_ref.data(), db_ref.data());
            Tensor dx(shape), dg(per_channel), db(per_channel);
            kernels::batch_norm_train_backward(isa, rows, channels, x.data(), y_ref.data(), dy.data(), gamma.data(),
                                               mean_ref.data(), inv_ref.data(), act, dx.data(), dg.data(), db.data(), scratch, &pool);
            CHECK(test::relative_error(dx, dx_ref) < 1e-4);
            CHECK(test::relative_error(dg, dg_ref) < 1e-5);
            CHECK(test::relative_error(db, db_ref) < 1e-5);

            // Eval mode, with the running statistics.
            const Tensor running_var = test::random_tensor(per_channel, rng, 0.5f, 2.0f);
            kernels::ref::batch_norm_forward_eval(rows, channels, x.data(), gamma.data(), beta.data(), mean_ref.data(),
                                                  running_var.data(), 1e-5f, y_ref.data());
            kernels::ref::activation_forward(act, y_ref.numel(), y_ref.data(), y_ref.data());
            kernels::batch_norm_eval_forward(isa, rows, channels, x.data(), gamma.data(), beta.data(), mean_ref.data(),
                                             running_var.data(), 1e-5f, act, y.data(), scratch, &pool);
            CHECK(test::relative_error(y, y_ref) < 1e-5);
          }
  }

  TEST_CASE("crop warp: every ISA equals the scalar warp, across image edges, formats, strides and crop sizes") {
    Rng rng(37);
    int vector_blocks = 0;
    for (PixelFormat format : {PixelFormat::rgb, PixelFormat::bgr, PixelFormat::gray})
      for (const int padding : {0, 5}) {  // bytes after each row: a view into a wider buffer
        const int width = 61, height = 47, channels = format == PixelFormat::gray ? 1 : 3;
        // Exactly the rows' bytes, so the last pixel ends the buffer (the vector reads stop at a pixel's
        // last byte by construction; AddressSanitizer does not see gathers).
        const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(width) * channels + padding;
        std::vector<std::uint8_t> pixels(static_cast<std::size_t>(stride) * (height - 1) + static_cast<std::size_t>(width) * channels);
        for (auto& b : pixels) b = static_cast<std::uint8_t>(rng.below(256));
        const ImageView image(pixels.data(), width, height, format, stride);
        const CropTransform crops[] = {
            CropTransform::square(30.3f, 22.7f, 30.0f, 32),              // inside, unturned
            CropTransform::square(30.3f, 22.7f, 40.0f, 37, 0.4f),        // turned; 37 columns: a partial block
            CropTransform::square(30.0f, 23.0f, 44.0f, 24, -0.7f, true),  // turned and mirrored
            CropTransform::square(55.0f, 42.0f, 40.0f, 48),              // across the right and bottom edges
            CropTransform::square(2.0f, 1.0f, 30.0f, 40, 1.2f),          // across the left and top edges
            CropTransform::square(30.0f, 23.0f, 59.0f, 64),              // up to the last column and row
            CropTransform::square(-500.0f, 900.0f, 30.0f, 16),           // all outside
        };
        for (const CropTransform& crop : crops) {
          const std::size_t n = static_cast<std::size_t>(crop.size()) * crop.size() * 3;
          std::vector<float> expected(n, -1.0f);
          crop.warp(image, expected.data(), 1.0f / 255.0f, Isa::ref);
          for (Isa isa : test::available_isas()) {
            CAPTURE(to_string(isa));
            CAPTURE(static_cast<int>(format));
            CAPTURE(crop.size());
            std::vector<float> got(n, -1.0f);
            crop.warp(image, got.data(), 1.0f / 255.0f, isa);
            float worst = 0.0f;
            for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(got[i] - expected[i]));
            CHECK(worst <= 1e-6f);
            if (isa != Isa::ref && kernels::warp_supported(isa, WarpGeometry{}) && channels == 3) ++vector_blocks;
          }
        }
      }
    // Guard against a test that only ever compared the scalar path with itself.
    if (kernels::warp_supported(active_isa(), WarpGeometry{})) CHECK(vector_blocks > 0);
  }

  TEST_CASE("int8 GEMM: the reference equals the definition; every kernel this CPU runs equals the reference bit for bit") {
    Rng rng(80);
    const auto variants = kernels::int8_gemm_variants();
    REQUIRE(variants.front().name == "ref");
    MESSAGE("int8 kernels checked: " << [&] {
      std::string names;
      for (const auto& v : variants) names += v.name + "; ";
      return names;
    }());
    std::size_t outputs = 0, clamped = 0;
    for (int m : {1, 5, 12, 13, 37})
      for (int k : {1, 3, 4, 7, 16, 33, 64})
        for (int n : {1, 15, 16, 17, 32, 33, 48, 64, 70, 128})
          for (bool residual : {false, true}) {
            CAPTURE(m);
            CAPTURE(k);
            CAPTURE(n);
            CAPTURE(residual);
            const std::size_t lda = static_cast<std::size_t>(k + (m % 2) * 5);  // rows packed and padded
            // m rows of lda bytes and only the kInt8ReadPast bytes the contract allows after the last row's k:
            // a kernel reading further shows under the address sanitizer
            std::vector<std::uint8_t> a(static_cast<std::size_t>(m - 1) * lda + static_cast<std::size_t>(k) +
                                        kernels::kInt8ReadPast);
            for (auto& x : a) x = static_cast<std::uint8_t>(rng.below(256));
            std::vector<std::int8_t> w(static_cast<std::size_t>(n) * static_cast<std::size_t>(k));
            for (auto& x : w) x = static_cast<std::int8_t>(static_cast<int>(rng.below(256)) - 128);
            const kernels::Int8PackedMatrix b(n, k, w.data());
            const int a_zero = static_cast<int>(rng.below(256));
            std::vector<std::int32_t> offset(static_cast<std::size_t>(n));
            std::vector<float> scale(static_cast<std::size_t>(n)), shift(static_cast<std::size_t>(n));
            for (int j = 0; j < n; ++j) {
              offset[static_cast<std::size_t>(j)] = -a_zero * b.column_sums()[static_cast<std::size_t>(j)];
              // outputs spread over [0, 255] and past it, so the clamps bite
              scale[static_cast<std::size_t>(j)] = rng.uniform(0.5f, 4.0f) / (128.0f * std::sqrt(static_cast<float>(k)));
              shift[static_cast<std::size_t>(j)] = rng.uniform(-40.0f, 300.0f);
            }
            std::vector<std::uint8_t> r(static_cast<std::size_t>(m) * static_cast<std::size_t>(n) + 3);
            for (auto& x : r) x = static_cast<std::uint8_t>(rng.below(256));
            kernels::Int8Requantize e;
            e.offset = offset.data();
            e.scale = scale.data();
            e.shift = shift.data();
            e.lo = 3.0f;
            e.hi = 250.0f;
            if (residual) {
              e.residual = r.data() + 3;
              e.residual_stride = static_cast<std::size_t>(n);
              e.residual_scale = 0.37f;
            }
            // The definition, from the unpacked weights.
            std::vector<std::uint8_t> expected(static_cast<std::size_t>(m) * static_cast<std::size_t>(n));
            for (int i = 0; i < m; ++i)
              for (int j = 0; j < n; ++j) {
                std::int64_t sum = 0;
                for (int q = 0; q < k; ++q)
                  sum += static_cast<std::int64_t>(a[static_cast<std::size_t>(i) * lda + static_cast<std::size_t>(q)]) *
                         w[static_cast<std::size_t>(j) * static_cast<std::size_t>(k) + static_cast<std::size_t>(q)];
                float y = std::fma(static_cast<float>(sum + offset[static_cast<std::size_t>(j)]),
                                   scale[static_cast<std::size_t>(j)], shift[static_cast<std::size_t>(j)]);
                if (residual)
                  y = std::fma(static_cast<float>(e.residual[static_cast<std::size_t>(i * n + j)]), e.residual_scale, y);
                clamped += y < e.lo || y > e.hi;
                y = std::min(std::max(y, e.lo), e.hi);
                expected[static_cast<std::size_t>(i * n + j)] = static_cast<std::uint8_t>(std::nearbyint(y));
              }
            outputs += expected.size();
            for (const auto& v : variants) {
              CAPTURE(v.name);
              const std::size_t ldc = static_cast<std::size_t>(n + 2);
              std::vector<std::uint8_t> c(static_cast<std::size_t>(m) * ldc, 0xa5);  // the gaps must stay untouched
              v.run(m, k, n, a.data(), lda, b.data(), e, c.data(), ldc);
              int differing = 0;
              for (int i = 0; i < m; ++i) {
                for (int j = 0; j < n; ++j)
                  differing += c[static_cast<std::size_t>(i) * ldc + static_cast<std::size_t>(j)] !=
                               expected[static_cast<std::size_t>(i * n + j)];
                differing += c[static_cast<std::size_t>(i) * ldc + static_cast<std::size_t>(n)] != 0xa5;
                differing += c[static_cast<std::size_t>(i) * ldc + static_cast<std::size_t>(n) + 1] != 0xa5;
              }
              CHECK(differing == 0);
            }
          }
    // The clamps must have been exercised, and not on everything.
    CHECK(clamped > outputs / 20);
    CHECK(clamped < outputs / 2);
  }

  TEST_CASE("int8 GEMM: the table's kernel is the dot-product one where the CPU has it, and int8_gemm runs it") {
    const CpuFeatures& f = cpu_features();
    (void)f;
#if defined(PFLD_COMPILE_AVX512) && defined(PFLD_COMPILE_AVX2)
    if (isa_supported(Isa::avx512)) {
      const bool expected = kernels::kernel_table(Isa::avx512).int8_gemm ==
                            (f.avx512vnni ? &kernels::avx512::int8_gemm_vnni : &kernels::avx512::int8_gemm_plain);
      CHECK(expected);
    }
    if (isa_supported(Isa::avx2)) {
      const bool expected =
          kernels::kernel_table(Isa::avx2).int8_gemm == (f.avxvnni ? &kernels::avx2::int8_gemm_vnni : &kernels::avx2::int8_gemm_plain);
      CHECK(expected);
    }
#elif defined(PFLD_ARCH_AARCH64)
    const bool expected =
        kernels::kernel_table(Isa::neon).int8_gemm == (f.neon_dot ? &kernels::neon::int8_gemm_dot : &kernels::neon::int8_gemm_plain);
    CHECK(expected);
#endif
    const bool reference = kernels::kernel_table(Isa::ref).int8_gemm == &kernels::ref::int8_gemm;
    CHECK(reference);
    const std::int8_t w[6] = {1, -2, 3, 4, 5, -6};  // 2 outputs x 3 inputs
    const kernels::Int8PackedMatrix b(2, 3, w);
    CHECK(b.column_sums() == std::vector<std::int32_t>{2, 3});
    const std::uint8_t a[3 + kernels::kInt8ReadPast] = {10, 20, 30};  // (the bytes a kernel may read past k)
    const std::int32_t offset[2] = {0, 0};
    const float scale[2] = {1.0f, 0.5f}, shift[2] = {100.0f, 100.0f};
    kernels::Int8Requantize e;
    e.offset = offset;
    e.scale = scale;
    e.shift = shift;
    std::uint8_t c[2] = {0, 0};
    kernels::int8_gemm(active_isa(), 1, a, 3, b, e, c, 2);
    CHECK(int(c[0]) == 100 + 10 - 40 + 90);           // 160
    CHECK(int(c[1]) == 100 + (40 + 100 - 180) / 2);   // 80
    CHECK_THROWS_AS(kernels::Int8PackedMatrix(0, 3, w), Error);
  }

  TEST_CASE("int8 depthwise 3x3 against its definition, every ISA, rows in two calls") {
    struct Case {
      int n, h, w, c, stride;
    };
    const Case cases[] = {{1, 1, 1, 1, 1},  {1, 5, 7, 3, 1},  {2, 6, 5, 16, 2}, {1, 9, 8, 17, 1},
                          {1, 7, 7, 33, 2}, {1, 4, 13, 64, 1}, {1, 8, 6, 70, 2},
                          // rows wide enough for whole tiles of pixels at both strides
                          {1, 5, 40, 16, 2}, {2, 4, 30, 32, 1}};
    Rng rng(81);
    std::size_t outputs = 0, clamped = 0;
    for (Isa isa : test::available_isas())
      for (const Case& t : cases)
        for (bool residual : {false, true}) {
          CAPTURE(std::string(to_string(isa)));
          CAPTURE(t.h);
          CAPTURE(t.w);
          CAPTURE(t.c);
          CAPTURE(t.stride);
          CAPTURE(residual);
          ConvGeometry g = depthwise_3x3(t.h, t.w, t.c, t.stride);
          g.batch = t.n;
          const std::size_t in_bytes = static_cast<std::size_t>(t.n) * t.h * t.w * t.c;
          const std::size_t out_pixels = static_cast<std::size_t>(t.n) * g.out_h() * g.out_w();
          std::vector<std::uint8_t> x(in_bytes);
          for (auto& v : x) v = static_cast<std::uint8_t>(rng.below(256));
          std::vector<std::int8_t> w(static_cast<std::size_t>(t.c) * 9);
          for (auto& v : w) v = static_cast<std::int8_t>(static_cast<int>(rng.below(256)) - 128);
          const int zero = static_cast<int>(rng.below(256));
          std::vector<float> scale(static_cast<std::size_t>(t.c)), shift(static_cast<std::size_t>(t.c));
          for (int c = 0; c < t.c; ++c) {
            scale[static_cast<std::size_t>(c)] = rng.uniform(0.5f, 4.0f) / (128.0f * 3.0f);
            shift[static_cast<std::size_t>(c)] = rng.uniform(-40.0f, 300.0f);
          }
          std::vector<std::uint8_t> r(out_pixels * static_cast<std::size_t>(t.c));
          for (auto& v : r) v = static_cast<std::uint8_t>(rng.below(256));
          kernels::Int8Requantize e;
          e.scale = scale.data();
          e.shift = shift.data();
          e.lo = 2.0f;
          e.hi = 251.0f;
          if (residual) {
            e.residual = r.data();
            e.residual_stride = static_cast<std::size_t>(t.c);
            e.residual_scale = 0.61f;
          }
          std::vector<std::uint8_t> expected(out_pixels * static_cast<std::size_t>(t.c));
          for (int b = 0; b < t.n; ++b)
            for (int oy = 0; oy < g.out_h(); ++oy)
              for (int ox = 0; ox < g.out_w(); ++ox)
                for (int c = 0; c < t.c; ++c) {
                  std::int64_t sum = 0;
                  for (int ky = 0; ky < 3; ++ky)
                    for (int kx = 0; kx < 3; ++kx) {
                      const int iy = oy * t.stride - 1 + ky, ix = ox * t.stride - 1 + kx;
                      const int v = iy < 0 || iy >= t.h || ix < 0 || ix >= t.w
                                        ? zero
                                        : x[((static_cast<std::size_t>(b) * t.h + iy) * t.w + ix) * t.c + c];
                      sum += static_cast<std::int64_t>(v - zero) * w[static_cast<std::size_t>(c) * 9 + ky * 3 + kx];
                    }
                  const std::size_t pixel = (static_cast<std::size_t>(b) * g.out_h() + oy) * g.out_w() + ox;
                  float yv = std::fma(static_cast<float>(sum), scale[static_cast<std::size_t>(c)], shift[static_cast<std::size_t>(c)]);
                  if (residual) yv = std::fma(static_cast<float>(r[pixel * t.c + c]), e.residual_scale, yv);
                  clamped += yv < e.lo || yv > e.hi;
                  yv = std::min(std::max(yv, e.lo), e.hi);
                  expected[pixel * t.c + c] = static_cast<std::uint8_t>(std::nearbyint(yv));
                }
          outputs += expected.size();
          const kernels::Int8DepthwiseWeights packed(g, w.data());
          std::vector<std::uint8_t> y(expected.size(), 0xa5);
          const std::size_t rows = static_cast<std::size_t>(t.n) * g.out_h(), half = rows / 2;
          kernels::int8_depthwise_forward(isa, g, x.data(), zero, packed, e, y.data(), 0, half);
          kernels::int8_depthwise_forward(isa, g, x.data(), zero, packed, e, y.data(), half, rows);
          std::size_t differing = 0;
          for (std::size_t i = 0; i < y.size(); ++i) differing += y[i] != expected[i];
          CHECK(differing == 0);
        }
    CHECK(clamped > outputs / 20);
    CHECK(clamped < outputs / 2);
    ConvGeometry dense = depthwise_3x3(4, 4, 8, 1);
    dense.groups = 1;
    const std::int8_t none[72] = {};
    CHECK_THROWS_AS(kernels::Int8DepthwiseWeights(dense, none), Error);
  }

  TEST_CASE("int8 max pool 2x2 and upsampled add on bytes against their definitions, every ISA") {
    Rng rng(41);
    std::size_t clamped = 0, sums = 0;
    for (Isa isa : test::available_isas())
      for (int c : {1, 7, 16, 17, 40, 64}) {
        CAPTURE(std::string(to_string(isa)));
        CAPTURE(c);
        const std::size_t channels = static_cast<std::size_t>(c);
        // Max pool over 7 x 9 pixels (the odd last row and column dropped), rows in two calls.
        const int ih = 7, iw = 9, oh = 3, ow = 4;
        std::vector<std::uint8_t> x(static_cast<std::size_t>(ih * iw) * channels);
        for (auto& v : x) v = static_cast<std::uint8_t>(rng.uniform(0.0f, 256.0f));
        std::vector<std::uint8_t> pooled(static_cast<std::size_t>(oh * ow) * channels, 0xa5);
        kernels::kernel_table(isa).max_pool_2x2_rows_u8(iw, c, x.data(), pooled.data(), 0, 1);
        kernels::kernel_table(isa).max_pool_2x2_rows_u8(iw, c, x.data(), pooled.data(), 1, oh);
        std::size_t differing = 0;
        for (int oy = 0; oy < oh; ++oy)
          for (int ox = 0; ox < ow; ++ox)
            for (std::size_t k = 0; k < channels; ++k) {
              auto at = [&](int y, int xx) { return x[(static_cast<std::size_t>(y) * iw + static_cast<std::size_t>(xx)) * channels + k]; };
              const std::uint8_t expected = std::max({at(2 * oy, 2 * ox), at(2 * oy, 2 * ox + 1), at(2 * oy + 1, 2 * ox),
                                                      at(2 * oy + 1, 2 * ox + 1)});
              differing += pooled[(static_cast<std::size_t>(oy) * ow + static_cast<std::size_t>(ox)) * channels + k] != expected;
            }
        CHECK(differing == 0);
        // a (6 x 4) + low (3 x 2) upsampled by 2: the requantization's fused multiply-adds, clamped in bytes
        // (a clamp that bites at both ends).
        const int h = 6, w = 4;
        std::vector<std::uint8_t> a(static_cast<std::size_t>(h * w) * channels), low(static_cast<std::size_t>(h * w / 4) * channels);
        for (auto& v : a) v = static_cast<std::uint8_t>(rng.uniform(0.0f, 256.0f));
        for (auto& v : low) v = static_cast<std::uint8_t>(rng.uniform(0.0f, 256.0f));
        const float ka = 0.61f, kl = 0.43f, k0 = -37.5f, lo = 3.0f, hi = 201.0f;
        std::vector<std::uint8_t> sum(a.size(), 0xa5);
        kernels::kernel_table(isa).add_upsampled_u8(h, w, c, 2, 2, a.data(), low.data(), sum.data(), ka, kl, k0, lo, hi);
        differing = 0;
        sums += sum.size();
        for (int r = 0; r < h; ++r)
          for (int col = 0; col < w; ++col)
            for (std::size_t k = 0; k < channels; ++k) {
              const std::size_t i = (static_cast<std::size_t>(r) * w + static_cast<std::size_t>(col)) * channels + k;
              const std::size_t j = (static_cast<std::size_t>(r / 2) * (w / 2) + static_cast<std::size_t>(col / 2)) * channels + k;
              const float v = std::fma(static_cast<float>(a[i]), ka, std::fma(static_cast<float>(low[j]), kl, k0));
              clamped += v < lo || v > hi;
              differing += sum[i] != static_cast<std::uint8_t>(std::nearbyint(std::min(std::max(v, lo), hi)));
            }
        CHECK(differing == 0);
      }
    CHECK(clamped > sums / 20);
    CHECK(clamped < sums / 2);
  }
}
