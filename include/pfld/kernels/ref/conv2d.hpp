// Scalar reference 2-D convolution, forward and backward: the oracle the SIMD kernels are tested against.
// Written for clarity, not speed.
#pragma once

#include <cstddef>

#include "../activation.hpp"
#include "../conv_geometry.hpp"

namespace pfld::kernels::ref {

// Calls visit(y_index, x_index, w_index) for every output element and every kernel tap that falls
// inside the input: y[y_index] pairs with the in_c_per_group() consecutive inputs from x[x_index] and
// weights from w[w_index]. All three passes of the convolution are this one traversal.
template <class Visit>
void for_each_tap(const ConvGeometry& g, Visit&& visit) {
  const int oh = g.out_h(), ow = g.out_w(), cig = g.in_c_per_group(), cog = g.out_c_per_group();
  for (int n = 0; n < g.batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        const std::size_t y_pixel = ((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * g.out_c;
        for (int oc = 0; oc < g.out_c; ++oc) {
          const int first_ic = (oc / cog) * cig;
          for (int ky = 0; ky < g.kernel_h; ++ky) {
            const int iy = oy * g.stride_h - g.pad_h + ky;
            if (iy < 0 || iy >= g.in_h) continue;
            for (int kx = 0; kx < g.kernel_w; ++kx) {
              const int ix = ox * g.stride_w - g.pad_w + kx;
              if (ix < 0 || ix >= g.in_w) continue;
              visit(y_pixel + oc, ((static_cast<std::size_t>(n) * g.in_h + iy) * g.in_w + ix) * g.in_c + first_ic,
                    ((static_cast<std::size_t>(oc) * g.kernel_h + ky) * g.kernel_w + kx) * cig);
            }
          }
        }
      }
}

inline std::size_t conv_output_count(const ConvGeometry& g) {
  return static_cast<std::size_t>(g.batch) * g.out_h() * g.out_w() * g.out_c;
}

// y = activation(conv(x, w) + bias); bias may be null.
inline void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y,
                           Activation act = Activation::identity) {
  const std::size_t count = conv_output_count(g);
  for (std::size_t i = 0; i < count; ++i) y[i] = bias ? bias[i % static_cast<std::size_t>(g.out_c)] : 0.0f;
  const int cig = g.in_c_per_group();
  for_each_tap(g, [&](std::size_t yi, std::size_t xi, std::size_t wi) {
    for (int ic = 0; ic < cig; ++ic) y[yi] += x[xi + ic] * w[wi + ic];
  });
  for (std::size_t i = 0; i < count; ++i) y[i] = activate(act, y[i]);
}

// dx = d loss / d x given dy = d loss / d y (before any activation). Overwrites dx.
inline void conv2d_backward_input(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  const std::size_t in_count = static_cast<std::size_t>(g.batch) * g.in_h * g.in_w * g.in_c;
  for (std::size_t i = 0; i < in_count; ++i) dx[i] = 0.0f;
  const int cig = g.in_c_per_group();
  for_each_tap(g, [&](std::size_t yi, std::size_t xi, std::size_t wi) {
    for (int ic = 0; ic < cig; ++ic) dx[xi + ic] += dy[yi] * w[wi + ic];
  });
}

// dw += d loss / d w and dbias += d loss / d bias (dbias may be null): gradients accumulate.
inline void conv2d_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias) {
  if (dbias) {
    const std::size_t count = conv_output_count(g);
    for (std::size_t i = 0; i < count; ++i) dbias[i % static_cast<std::size_t>(g.out_c)] += dy[i];
  }
  const int cig = g.in_c_per_group();
  for_each_tap(g, [&](std::size_t yi, std::size_t xi, std::size_t wi) {
    for (int ic = 0; ic < cig; ++ic) dw[wi + ic] += dy[yi] * x[xi + ic];
  });
}

}  // namespace pfld::kernels::ref
