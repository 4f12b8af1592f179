// Depthwise convolution over NHWC with the channel as the inner, contiguous loop, so the compiler
// vectorises across channels; any kernel size, stride and padding. Weights arrive in pfld's OHWI layout
// (C, KH, KW, 1) and are transposed to (KH, KW, C) on entry.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "../core/scratch.hpp"
#include "../core/thread_pool.hpp"
#include "conv_geometry.hpp"

namespace pfld::kernels {

namespace detail_dw {

// (C, KH*KW) -> (KH*KW, C)
inline void transpose_weights(const ConvGeometry& g, const float* w, float* out) {
  const int taps = g.kernel_h * g.kernel_w;
  for (int c = 0; c < g.in_c; ++c)
    for (int t = 0; t < taps; ++t) out[static_cast<std::size_t>(t) * g.in_c + c] = w[static_cast<std::size_t>(c) * taps + t];
}

inline ScratchBuffer& scratch() {
  thread_local ScratchBuffer buffer;
  return buffer;
}

inline void run(ThreadPool* pool, std::size_t count, const std::function<void(std::size_t, std::size_t)>& body) {
  if (pool)
    pool->parallel_for(0, count, body);
  else
    body(0, count);
}

}  // namespace detail_dw

// y = depthwise(x, w) + bias (bias may be null). Parallel over output rows.
inline void depthwise_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y,
                              ThreadPool* pool) {
  const int C = g.in_c, oh = g.out_h(), ow = g.out_w();
  float* wt = detail_dw::scratch().get(static_cast<std::size_t>(g.kernel_h) * g.kernel_w * C);
  detail_dw::transpose_weights(g, w, wt);
  detail_dw::run(pool, static_cast<std::size_t>(g.batch) * oh, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t row = lo; row < hi; ++row) {
      const int n = static_cast<int>(row) / oh, oy = static_cast<int>(row) % oh;
      for (int ox = 0; ox < ow; ++ox) {
        float* out = y + ((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * C;
        for (int c = 0; c < C; ++c) out[c] = bias ? bias[c] : 0.0f;
        for (int ky = 0; ky < g.kernel_h; ++ky) {
          const int iy = oy * g.stride_h - g.pad_h + ky;
          if (iy < 0 || iy >= g.in_h) continue;
          for (int kx = 0; kx < g.kernel_w; ++kx) {
            const int ix = ox * g.stride_w - g.pad_w + kx;
            if (ix < 0 || ix >= g.in_w) continue;
            const float* in = x + ((static_cast<std::size_t>(n) * g.in_h + iy) * g.in_w + ix) * C;
            const float* wk = wt + static_cast<std::size_t>(ky * g.kernel_w + kx) * C;
            for (int c = 0; c < C; ++c) out[c] += in[c] * wk[c];
          }
        }
      }
    }
  });
}

// dx = d loss / d x. Parallel over images (input rows of neighbouring output rows overlap).
inline void depthwise_backward_input(const ConvGeometry& g, const float* dy, const float* w, float* dx,
                                     ThreadPool* pool) {
  const int C = g.in_c, oh = g.out_h(), ow = g.out_w();
  float* wt = detail_dw::scratch().get(static_cast<std::size_t>(g.kernel_h) * g.kernel_w * C);
  detail_dw::transpose_weights(g, w, wt);
  const std::size_t image = static_cast<std::size_t>(g.in_h) * g.in_w * C;
  detail_dw::run(pool, static_cast<std::size_t>(g.batch), [&](std::size_t lo, std::size_t hi) {
    std::fill(dx + lo * image, dx + hi * image, 0.0f);
    for (std::size_t n = lo; n < hi; ++n)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          const float* grad = dy + ((n * oh + static_cast<std::size_t>(oy)) * ow + ox) * C;
          for (int ky = 0; ky < g.kernel_h; ++ky) {
            const int iy = oy * g.stride_h - g.pad_h + ky;
            if (iy < 0 || iy >= g.in_h) continue;
            for (int kx = 0; kx < g.kernel_w; ++kx) {
              const int ix = ox * g.stride_w - g.pad_w + kx;
              if (ix < 0 || ix >= g.in_w) continue;
              float* in = dx + ((n * g.in_h + static_cast<std::size_t>(iy)) * g.in_w + ix) * C;
              const float* wk = wt + static_cast<std::size_t>(ky * g.kernel_w + kx) * C;
              for (int c = 0; c < C; ++c) in[c] += grad[c] * wk[c];
            }
          }
        }
  });
}

// dw += d loss / d w, dbias += d loss / d bias (may be null). Parallel over blocks of channels, so no
// two threads add into the same weight.
inline void depthwise_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw,
                                       float* dbias, ThreadPool* pool) {
  const int C = g.in_c, oh = g.out_h(), ow = g.out_w(), taps = g.kernel_h * g.kernel_w;
  constexpr int kBlock = 16;
  const std::size_t blocks = static_cast<std::size_t>((C + kBlock - 1) / kBlock);
  detail_dw::run(pool, blocks, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t block = lo; block < hi; ++block) {
      const int c0 = static_cast<int>(block) * kBlock, width = std::min(kBlock, C - c0);
      float acc[64][kBlock] = {};  // taps x channels of this block; PFLD's kernels have at most 49 taps
      float acc_bias[kBlock] = {};
      for (int n = 0; n < g.batch; ++n)
        for (int oy = 0; oy < oh; ++oy)
          for (int ox = 0; ox < ow; ++ox) {
            const float* grad = dy + ((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * C + c0;
            for (int c = 0; c < width; ++c) acc_bias[c] += grad[c];
            for (int ky = 0; ky < g.kernel_h; ++ky) {
              const int iy = oy * g.stride_h - g.pad_h + ky;
              if (iy < 0 || iy >= g.in_h) continue;
              for (int kx = 0; kx < g.kernel_w; ++kx) {
                const int ix = ox * g.stride_w - g.pad_w + kx;
                if (ix < 0 || ix >= g.in_w) continue;
                const float* in = x + ((static_cast<std::size_t>(n) * g.in_h + iy) * g.in_w + ix) * C + c0;
                float* a = acc[ky * g.kernel_w + kx];
                for (int c = 0; c < width; ++c) a[c] += grad[c] * in[c];
              }
            }
          }
      for (int c = 0; c < width; ++c) {
        for (int t = 0; t < taps; ++t) dw[static_cast<std::size_t>(c0 + c) * taps + t] += acc[t][c];
        if (dbias) dbias[c0 + c] += acc_bias[c];
      }
    }
  });
}

// Whether the fast depthwise kernels take this geometry.
inline bool depthwise_supported(const ConvGeometry& g) { return g.is_depthwise() && g.kernel_h * g.kernel_w <= 64; }

}  // namespace pfld::kernels
