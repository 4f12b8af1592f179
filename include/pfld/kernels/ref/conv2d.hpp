// Scalar reference 2-D convolution, forward and backward: the oracle the SIMD kernels are tested against.
// Written for clarity, not speed.
#pragma once

#include <cstddef>

#include "../activation.hpp"
#include "../conv_geometry.hpp"

namespace pfld::kernels::ref {

// y = activation(conv(x, w) + bias); bias may be null.
inline void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y,
                           Activation act = Activation::identity) {
  const int oh = g.out_h(), ow = g.out_w(), cig = g.in_c_per_group(), cog = g.out_c_per_group();
  for (int n = 0; n < g.batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        float* out = y + ((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * g.out_c;
        for (int oc = 0; oc < g.out_c; ++oc) {
          const int first_ic = (oc / cog) * cig;
          float sum = bias ? bias[oc] : 0.0f;
          for (int ky = 0; ky < g.kernel_h; ++ky) {
            const int iy = oy * g.stride_h - g.pad_h + ky;
            if (iy < 0 || iy >= g.in_h) continue;
            for (int kx = 0; kx < g.kernel_w; ++kx) {
              const int ix = ox * g.stride_w - g.pad_w + kx;
              if (ix < 0 || ix >= g.in_w) continue;
              const float* in = x + ((static_cast<std::size_t>(n) * g.in_h + iy) * g.in_w + ix) * g.in_c + first_ic;
              const float* wk = w + ((static_cast<std::size_t>(oc) * g.kernel_h + ky) * g.kernel_w + kx) * cig;
              for (int ic = 0; ic < cig; ++ic) sum += in[ic] * wk[ic];
            }
          }
          out[oc] = activate(act, sum);
        }
      }
}

// dx = d loss / d x given dy = d loss / d y (before any activation). Overwrites dx.
inline void conv2d_backward_input(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  const int oh = g.out_h(), ow = g.out_w(), cig = g.in_c_per_group(), cog = g.out_c_per_group();
  const std::size_t in_count = static_cast<std::size_t>(g.batch) * g.in_h * g.in_w * g.in_c;
  for (std::size_t i = 0; i < in_count; ++i) dx[i] = 0.0f;
  for (int n = 0; n < g.batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        const float* grad = dy + ((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * g.out_c;
        for (int oc = 0; oc < g.out_c; ++oc) {
          const int first_ic = (oc / cog) * cig;
          for (int ky = 0; ky < g.kernel_h; ++ky) {
            const int iy = oy * g.stride_h - g.pad_h + ky;
            if (iy < 0 || iy >= g.in_h) continue;
            for (int kx = 0; kx < g.kernel_w; ++kx) {
              const int ix = ox * g.stride_w - g.pad_w + kx;
              if (ix < 0 || ix >= g.in_w) continue;
              float* in = dx + ((static_cast<std::size_t>(n) * g.in_h + iy) * g.in_w + ix) * g.in_c + first_ic;
              const float* wk = w + ((static_cast<std::size_t>(oc) * g.kernel_h + ky) * g.kernel_w + kx) * cig;
              for (int ic = 0; ic < cig; ++ic) in[ic] += grad[oc] * wk[ic];
            }
          }
        }
      }
}

// dw += d loss / d w and dbias += d loss / d bias (dbias may be null): gradients accumulate.
inline void conv2d_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias) {
  const int oh = g.out_h(), ow = g.out_w(), cig = g.in_c_per_group(), cog = g.out_c_per_group();
  for (int n = 0; n < g.batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        const float* grad = dy + ((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * g.out_c;
        for (int oc = 0; oc < g.out_c; ++oc) {
          if (dbias) dbias[oc] += grad[oc];
          const int first_ic = (oc / cog) * cig;
          for (int ky = 0; ky < g.kernel_h; ++ky) {
            const int iy = oy * g.stride_h - g.pad_h + ky;
            if (iy < 0 || iy >= g.in_h) continue;
            for (int kx = 0; kx < g.kernel_w; ++kx) {
              const int ix = ox * g.stride_w - g.pad_w + kx;
              if (ix < 0 || ix >= g.in_w) continue;
              const float* in = x + ((static_cast<std::size_t>(n) * g.in_h + iy) * g.in_w + ix) * g.in_c + first_ic;
              float* wk = dw + ((static_cast<std::size_t>(oc) * g.kernel_h + ky) * g.kernel_w + kx) * cig;
              for (int ic = 0; ic < cig; ++ic) wk[ic] += grad[oc] * in[ic];
            }
          }
        }
      }
}

}  // namespace pfld::kernels::ref
