// Scalar reference fully connected layer: y (rows, out) = x (rows, in) * w^T + bias, w is (out, in).
#pragma once

#include <cstddef>

namespace pfld::kernels::ref {

inline void linear_forward(int rows, int in, int out, const float* x, const float* w, const float* bias, float* y) {
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) {
      float sum = bias ? bias[o] : 0.0f;
      const float* xr = x + static_cast<std::size_t>(r) * in;
      const float* wo = w + static_cast<std::size_t>(o) * in;
      for (int i = 0; i < in; ++i) sum += xr[i] * wo[i];
      y[static_cast<std::size_t>(r) * out + o] = sum;
    }
}

// dx = dy * w. Overwrites dx.
inline void linear_backward_input(int rows, int in, int out, const float* dy, const float* w, float* dx) {
  for (int r = 0; r < rows; ++r) {
    float* dxr = dx + static_cast<std::size_t>(r) * in;
    for (int i = 0; i < in; ++i) dxr[i] = 0.0f;
    for (int o = 0; o < out; ++o) {
      const float g = dy[static_cast<std::size_t>(r) * out + o];
      const float* wo = w + static_cast<std::size_t>(o) * in;
      for (int i = 0; i < in; ++i) dxr[i] += g * wo[i];
    }
  }
}

// dw += dy^T * x, dbias += column sums of dy (dbias may be null).
inline void linear_backward_weights(int rows, int in, int out, const float* x, const float* dy, float* dw,
                                    float* dbias) {
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) {
      const float g = dy[static_cast<std::size_t>(r) * out + o];
      if (dbias) dbias[o] += g;
      float* dwo = dw + static_cast<std::size_t>(o) * in;
      const float* xr = x + static_cast<std::size_t>(r) * in;
      for (int i = 0; i < in; ++i) dwo[i] += g * xr[i];
    }
}

}  // namespace pfld::kernels::ref
