// Depthwise convolution for the training path: weights transposed to (KH * KW, C), then the ISA's
// kernels (depthwise_simd.inc) over a split of the work on the thread pool. Any kernel size up to 8x8,
// stride and padding.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>

#include "../core/cpu.hpp"
#include "../core/scratch.hpp"
#include "../core/thread_pool.hpp"
#include "conv_geometry.hpp"
#include "dispatch.hpp"

namespace pfld::kernels {

// Whether the fast depthwise kernels take this geometry (and ISA: the reference has its own).
inline bool depthwise_supported(Isa isa, const ConvGeometry& g) {
  return isa != Isa::ref && g.is_depthwise() && g.kernel_h * g.kernel_w <= 64;
}

// Whether depthwise_max_pool_rows takes this layer (followed by a 2x2, stride-2 max pool): 3x3, stride
// 1, padding 1, one image, channels a multiple of every ISA's vector width, an even output size.
inline bool depthwise_max_pool_suits(const ConvGeometry& g) {
  return g.is_depthwise() && g.batch == 1 && g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 &&
         g.pad_h == 1 && g.pad_w == 1 && g.in_c % 16 == 0 && g.out_h() % 2 == 0 && g.out_w() % 2 == 0;
}

namespace detail_dw {

// (C, KH * KW) -> (KH * KW, C), and back with the arguments swapped.
inline void transpose(int channels, int taps, const float* from, float* to) {
  for (int c = 0; c < channels; ++c)
    for (int t = 0; t < taps; ++t) to[static_cast<std::size_t>(t) * channels + c] = from[static_cast<std::size_t>(c) * taps + t];
}

inline float* transposed_weights(const ConvGeometry& g, const float* w) {
  thread_local ScratchBuffer buffer;
  const int taps = g.kernel_h * g.kernel_w;
  float* wt = buffer.get(static_cast<std::size_t>(taps) * g.in_c);
  transpose(g.in_c, taps, w, wt);
  return wt;
}

inline void run(ThreadPool* pool, std::size_t count, const std::function<void(std::size_t, std::size_t)>& body) {
  if (pool)
    pool->parallel_for(0, count, body);
  else
    body(0, count);
}

}  // namespace detail_dw


// y = depthwise(x, w) + bias (bias may be null). Parallel over output rows.
inline void depthwise_forward(Isa isa, const ConvGeometry& g, const float* x, const float* w, const float* bias,
                              float* y, ThreadPool* pool) {
  const float* wt = detail_dw::transposed_weights(g, w);
  detail_dw::run(pool, static_cast<std::size_t>(g.batch) * g.out_h(), [&](std::size_t lo, std::size_t hi) {
    const std::size_t pitch = static_cast<std::size_t>(g.in_c);
    kernel_table(isa).depthwise_forward_rows(g, x, pitch, wt, bias, Clamp{}, y, pitch, lo, hi);
  });
}

// The inference form: weights already transposed to (KH * KW, C), bias and clamp fused, the caller's
// thread only, no scratch. Pixels of x and y are x_pitch and y_pitch floats apart (0: the channel count).
// Output rows [row_lo, row_hi) of the batch x out_h rows (all by default), so a caller can interleave
// the work with the layer that produces x. Rows are produced in ascending order, so at stride 1 with
// equal pitches y may overlap x, starting pad_h + 1 rows before it (in place: GraphNet::in_place_pass).
inline void depthwise_forward_fused(Isa isa, const ConvGeometry& g, const float* x, const float* wt, const float* bias,
                                    const Clamp& clamp, float* y, std::size_t x_pitch = 0, std::size_t y_pitch = 0,
                                    std::size_t row_lo = 0, std::size_t row_hi = static_cast<std::size_t>(-1)) {
  row_hi = std::min(row_hi, static_cast<std::size_t>(g.batch) * g.out_h());
  if (row_lo >= row_hi) return;
  if (x_pitch == 0) x_pitch = static_cast<std::size_t>(g.in_c);
  if (y_pitch == 0) y_pitch = static_cast<std::size_t>(g.in_c);
  kernel_table(isa).depthwise_forward_rows(g, x, x_pitch, wt, bias, clamp, y, y_pitch, row_lo, row_hi);
}

// dx = d loss / d x (overwritten). Parallel over input rows.
inline void depthwise_backward_input(Isa isa, const ConvGeometry& g, const float* dy, const float* w, float* dx,
                                     ThreadPool* pool) {
  require_training_kernels(isa);  // (an Error in a build without them, before any thread runs one)
  const float* wt = detail_dw::transposed_weights(g, w);
  detail_dw::run(pool, static_cast<std::size_t>(g.batch) * g.in_h, [&](std::size_t lo, std::size_t hi) {
    kernel_table(isa).depthwise_backward_input_rows(g, dy, wt, dx, lo, hi);
  });
}

// dw += d loss / d w, dbias += d loss / d bias (may be null). Parallel over blocks of channels, so no
// two threads add into the same weight; with fewer blocks than threads (thin layers), over images
// instead, each thread summing into its own buffer, added up at the end.
inline void depthwise_backward_weights(Isa isa, const ConvGeometry& g, const float* x, const float* dy, float* dw,
                                       float* dbias, ThreadPool* pool) {
  require_training_kernels(isa);
  const int C = g.in_c, taps = g.kernel_h * g.kernel_w;
  const std::size_t size = static_cast<std::size_t>(taps) * C;
  constexpr int kBlock = 16;
  const int blocks = (C + kBlock - 1) / kBlock;
  const int splits = pool ? std::min(pool->size(), g.batch) : 1;
  thread_local ScratchBuffer buffer;
  if (blocks >= splits) {
    float* dwt = buffer.get(size);
    detail_dw::transpose(C, taps, dw, dwt);
    detail_dw::run(pool, static_cast<std::size_t>(blocks), [&](std::size_t lo, std::size_t hi) {
      const int c_lo = static_cast<int>(lo) * kBlock, c_hi = std::min(C, static_cast<int>(hi) * kBlock);
      kernel_table(isa).depthwise_backward_weights_block(g, x, dy, dwt, dbias, c_lo, c_hi, 0, g.batch);
    });
    detail_dw::transpose(taps, C, dwt, dw);
    return;
  }
  // Per split: taps x C weight sums, then C bias sums.
  const std::size_t stride = size + static_cast<std::size_t>(C);
  float* partial = buffer.get(stride * static_cast<std::size_t>(splits));
  std::fill(partial, partial + stride * static_cast<std::size_t>(splits), 0.0f);
  detail_dw::run(pool, static_cast<std::size_t>(splits), [&](std::size_t lo, std::size_t hi) {
    for (std::size_t p = lo; p < hi; ++p) {
      const int n_lo = g.batch * static_cast<int>(p) / splits, n_hi = g.batch * static_cast<int>(p + 1) / splits;
      float* mine = partial + p * stride;
      kernel_table(isa).depthwise_backward_weights_block(g, x, dy, mine, mine + size, 0, C, n_lo, n_hi);
    }
  });
  for (int c = 0; c < C; ++c)
    for (int t = 0; t < taps; ++t) {
      float sum = 0.0f;
      for (int p = 0; p < splits; ++p) sum += partial[static_cast<std::size_t>(p) * stride + static_cast<std::size_t>(t) * C + c];
      dw[static_cast<std::size_t>(c) * taps + t] += sum;
    }
  if (dbias)
    for (int c = 0; c < C; ++c)
      for (int p = 0; p < splits; ++p) dbias[c] += partial[static_cast<std::size_t>(p) * stride + size + static_cast<std::size_t>(c)];
}


}  // namespace pfld::kernels
