// Scalar reference pooling over NHWC tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

namespace pfld::kernels::ref {

// (batch, pixels, channels) -> (batch, channels): the mean over the pixels of each image.
inline void global_avg_pool_forward(int batch, int pixels, int channels, const float* x, float* y) {
  for (int n = 0; n < batch; ++n) {
    float* out = y + static_cast<std::size_t>(n) * channels;
    for (int c = 0; c < channels; ++c) out[c] = 0.0f;
    const float* in = x + static_cast<std::size_t>(n) * pixels * channels;
    for (int p = 0; p < pixels; ++p)
      for (int c = 0; c < channels; ++c) out[c] += in[static_cast<std::size_t>(p) * channels + c];
    for (int c = 0; c < channels; ++c) out[c] /= static_cast<float>(pixels);
  }
}

inline void global_avg_pool_backward(int batch, int pixels, int channels, const float* dy, float* dx) {
  const float scale = 1.0f / static_cast<float>(pixels);
  for (int n = 0; n < batch; ++n)
    for (int p = 0; p < pixels; ++p)
      for (int c = 0; c < channels; ++c)
        dx[(static_cast<std::size_t>(n) * pixels + p) * channels + c] = dy[static_cast<std::size_t>(n) * channels + c] * scale;
}

struct PoolGeometry {
  int batch = 1, in_h = 1, in_w = 1, channels = 1;
  int kernel = 1, stride = 1, pad = 0;
  int out_h() const { return (in_h + 2 * pad - kernel) / stride + 1; }
  int out_w() const { return (in_w + 2 * pad - kernel) / stride + 1; }
};

// Max pooling; padding never wins (it counts as -infinity). argmax receives, per output element, the
// flat index of the input element chosen (first maximum in scan order), for the backward pass.
inline void max_pool_forward(const PoolGeometry& g, const float* x, float* y, std::int64_t* argmax) {
  const int oh = g.out_h(), ow = g.out_w();
  for (int n = 0; n < g.batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int c = 0; c < g.channels; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          std::int64_t best_index = -1;
          for (int ky = 0; ky < g.kernel; ++ky) {
            const int iy = oy * g.stride - g.pad + ky;
            if (iy < 0 || iy >= g.in_h) continue;
            for (int kx = 0; kx < g.kernel; ++kx) {
              const int ix = ox * g.stride - g.pad + kx;
              if (ix < 0 || ix >= g.in_w) continue;
              const std::int64_t i = ((static_cast<std::int64_t>(n) * g.in_h + iy) * g.in_w + ix) * g.channels + c;
              if (best_index < 0 || x[i] > best) {
                best = x[i];
                best_index = i;
              }
            }
          }
          const std::size_t o = ((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * g.channels + c;
          y[o] = best;
          argmax[o] = best_index;
        }
}

// dx = scatter of dy onto the chosen inputs. Overwrites dx (input_count elements).
inline void max_pool_backward(std::size_t output_count, std::size_t input_count, const float* dy,
                              const std::int64_t* argmax, float* dx) {
  for (std::size_t i = 0; i < input_count; ++i) dx[i] = 0.0f;
  for (std::size_t o = 0; o < output_count; ++o) dx[argmax[o]] += dy[o];
}

}  // namespace pfld::kernels::ref
