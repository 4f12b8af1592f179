// Scalar reference element-wise work: activations, residual add, channel concat.
#pragma once

#include <cstddef>

#include "../activation.hpp"

namespace pfld::kernels::ref {

inline void activation_forward(Activation a, std::size_t count, const float* x, float* y) {
  for (std::size_t i = 0; i < count; ++i) y[i] = activate(a, x[i]);
}

// dx = dy * activation'(x). dx may alias dy.
inline void activation_backward(Activation a, std::size_t count, const float* x, const float* dy, float* dx) {
  for (std::size_t i = 0; i < count; ++i) dx[i] = dy[i] * activation_slope(a, x[i]);
}

inline void add(std::size_t count, const float* a, const float* b, float* y) {
  for (std::size_t i = 0; i < count; ++i) y[i] = a[i] + b[i];
}

// Copies a (rows, width) block into columns [offset, offset + width) of a (rows, total) matrix: one
// input of a channel concat, rows being the pixels of an NHWC tensor.
inline void copy_columns_in(std::size_t rows, int width, int total, int offset, const float* src, float* dst) {
  for (std::size_t r = 0; r < rows; ++r)
    for (int c = 0; c < width; ++c) dst[r * total + offset + c] = src[r * width + c];
}

// The inverse: columns [offset, offset + width) of a (rows, total) matrix into a (rows, width) block.
inline void copy_columns_out(std::size_t rows, int width, int total, int offset, const float* src, float* dst) {
  for (std::size_t r = 0; r < rows; ++r)
    for (int c = 0; c < width; ++c) dst[r * width + c] = src[r * total + offset + c];
}

}  // namespace pfld::kernels::ref
