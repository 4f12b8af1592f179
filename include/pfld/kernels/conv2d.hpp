// Convolution for the training path, dispatched on the ISA and the geometry:
//   Isa::ref                          the scalar reference (the oracle)
//   1x1, stride 1, no padding         one GEMM straight on the NHWC input
//   depthwise                         channel-vectorised depthwise kernels
//   dense (groups 1)                  im2col + GEMM (the columns are kept for the weight gradient)
//   anything else                     the scalar reference
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "../core/tensor.hpp"
#include "depthwise.hpp"
#include "gemm.hpp"
#include "ref/conv2d.hpp"

namespace pfld::kernels {

enum class ConvMethod { reference, pointwise_gemm, depthwise, im2col_gemm };

inline ConvMethod conv_method(Isa isa, const ConvGeometry& g) {
  if (isa == Isa::ref) return ConvMethod::reference;
  if (g.is_pointwise()) return ConvMethod::pointwise_gemm;
  if (depthwise_supported(isa, g)) return ConvMethod::depthwise;
  if (g.groups == 1) return ConvMethod::im2col_gemm;
  return ConvMethod::reference;
}

inline std::size_t output_pixels(const ConvGeometry& g) {
  return static_cast<std::size_t>(g.batch) * g.out_h() * g.out_w();
}
inline int patch_size(const ConvGeometry& g) { return g.kernel_h * g.kernel_w * g.in_c; }

namespace detail_im2col {

// The rows [lo, hi) of im2col; N: the span of a kernel row (kernel_w x in_c) when it is known at compile
// time (the tap copies then compile to a few vector moves), 0 when not.
template <int N, class T>
inline void rows(const ConvGeometry& g, const T* x, T* columns, T pad, std::size_t lo, std::size_t hi) {
  const int oh = g.out_h(), ow = g.out_w(), C = g.in_c, patch = patch_size(g);
  const int span = N > 0 ? N : g.kernel_w * C;
  const std::size_t in_row_size = static_cast<std::size_t>(g.in_w) * C;
  // (the copies of short spans may run past them, never past x nor past these rows' columns)
  const T* const x_end = x + static_cast<std::size_t>(g.batch) * g.in_h * in_row_size;
  const T* const columns_end = columns + hi * patch;
  // Pixel by pixel along each output row from lo to hi; its kernel rows inside the image, [ky_lo, ky_hi),
  // and its pixels whose taps lie inside, [interior_lo, interior_hi), set once per output row.
  const int interior_lo = std::min(ow, (g.pad_w + g.stride_w - 1) / g.stride_w);
  const int last_start = g.in_w + g.pad_w - g.kernel_w;  // (of the last pixel's taps, plus the padding)
  const int interior_hi = last_start < 0 ? interior_lo : std::max(interior_lo, std::min(ow, last_start / g.stride_w + 1));
  for (std::size_t p = lo; p < hi;) {
    const int n = static_cast<int>(p / (static_cast<std::size_t>(oh) * ow));
    const int oy = static_cast<int>(p / static_cast<std::size_t>(ow) % static_cast<std::size_t>(oh));
    const int ox0 = static_cast<int>(p % static_cast<std::size_t>(ow));
    const int ox1 = static_cast<int>(std::min<std::size_t>(hi - p, static_cast<std::size_t>(ow - ox0))) + ox0;
    const int iy0 = oy * g.stride_h - g.pad_h;
    const int ky_lo = std::max(0, -iy0), ky_hi = std::max(ky_lo, std::min(g.kernel_h, g.in_h - iy0));
    const T* const image_rows = x + (static_cast<std::size_t>(n) * g.in_h + static_cast<std::size_t>(iy0 + ky_lo)) * in_row_size;
    for (int ox = ox0; ox < ox1; ++ox, ++p) {
      T* row = columns + p * patch;
      const int ix0 = ox * g.stride_w - g.pad_w;
      for (int ky = 0; ky < ky_lo; ++ky, row += span)
        for (int i = 0; i < span; ++i) row[i] = pad;
      if (ox >= interior_lo && ox < interior_hi) {  // the taps of each kernel row are contiguous
        const T* from = image_rows + static_cast<std::size_t>(ix0) * C;
        for (int ky = ky_lo; ky < ky_hi; ++ky, row += span, from += in_row_size) {
          if (N > 0 && N * sizeof(T) < 16 && from + 16 / sizeof(T) <= x_end && row + 16 / sizeof(T) <= columns_end)
            std::memcpy(row, from, 16);  // one vector move; what it writes past the span is written later
          else if (N > 0)
            std::memcpy(row, from, static_cast<std::size_t>(N) * sizeof(T));  // (a constant size: a few moves)
          else
            for (int i = 0; i < span; ++i) row[i] = from[i];
        }
      } else {
        const T* in_row = image_rows;
        for (int ky = ky_lo; ky < ky_hi; ++ky, row += span, in_row += in_row_size)
          for (int kx = 0; kx < g.kernel_w; ++kx) {
            const int ix = ix0 + kx;
            for (int c = 0; c < C; ++c)
              row[kx * C + c] = ix < 0 || ix >= g.in_w ? pad : in_row[static_cast<std::size_t>(ix) * C + static_cast<std::size_t>(c)];
          }
      }
      for (int ky = ky_hi; ky < g.kernel_h; ++ky, row += span)
        for (int i = 0; i < span; ++i) row[i] = pad;
    }
  }
}

}  // namespace detail_im2col

// columns (output pixels x KH*KW*C): row p is the receptive field of output pixel p, `pad` in padding
// (0 for floats; an int8 layer's input zero point for bytes). T: float or std::uint8_t.
template <class T>
inline void im2col(const ConvGeometry& g, const T* x, T* columns, ThreadPool* pool, T pad = T(0)) {
  const bool rgb_3x3 = g.kernel_w == 3 && g.in_c == 3;  // a stem's: the common case, its span known
  auto body = [&](std::size_t lo, std::size_t hi) {
    if (rgb_3x3)
      detail_im2col::rows<9>(g, x, columns, pad, lo, hi);
    else
      detail_im2col::rows<0>(g, x, columns, pad, lo, hi);
  };
  if (pool)
    pool->parallel_for(0, output_pixels(g), body, 64);
  else
    body(0, output_pixels(g));
}

// dx = the sum of each column row back onto its receptive field. Parallel over images.
inline void col2im(const ConvGeometry& g, const float* columns, float* dx, ThreadPool* pool) {
  const int oh = g.out_h(), ow = g.out_w(), C = g.in_c, patch = patch_size(g);
  const std::size_t image = static_cast<std::size_t>(g.in_h) * g.in_w * C;
  auto body = [&](std::size_t lo, std::size_t hi) {
    std::fill(dx + lo * image, dx + hi * image, 0.0f);
    for (std::size_t n = lo; n < hi; ++n)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          const float* row = columns + ((n * oh + static_cast<std::size_t>(oy)) * ow + ox) * patch;
          for (int ky = 0; ky < g.kernel_h; ++ky) {
            const int iy = oy * g.stride_h - g.pad_h + ky;
            for (int kx = 0; kx < g.kernel_w; ++kx, row += C) {
              const int ix = ox * g.stride_w - g.pad_w + kx;
              if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) continue;
              float* in = dx + ((n * g.in_h + static_cast<std::size_t>(iy)) * g.in_w + ix) * C;
              for (int c = 0; c < C; ++c) in[c] += row[c];
            }
          }
        }
  };
  if (pool)
    pool->parallel_for(0, static_cast<std::size_t>(g.batch), body);
  else
    body(0, static_cast<std::size_t>(g.batch));
}

namespace detail_conv {

inline void add_bias(std::size_t rows, int channels, const float* bias, float* y) {
  for (std::size_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) y[r * channels + c] += bias[c];
}

inline void sum_rows_into(std::size_t rows, int channels, const float* dy, float* dbias) {
  for (std::size_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) dbias[c] += dy[r * channels + c];
}

}  // namespace detail_conv

// Scratch a convolution layer keeps between its forward and backward passes.
struct ConvWorkspace {
  Tensor columns;  // im2col of the last forward input (im2col_gemm only)
};

// y = conv(x, w) + bias (bias may be null).
inline void conv2d_forward(Isa isa, const ConvGeometry& g, const float* x, const float* w, const float* bias,
                           float* y, ConvWorkspace& ws, ThreadPool* pool) {
  using namespace detail_conv;
  const std::size_t pixels = output_pixels(g);
  switch (conv_method(isa, g)) {
    case ConvMethod::reference: return ref::conv2d_forward(g, x, w, bias, y);
    case ConvMethod::depthwise: return depthwise_forward(isa, g, x, w, bias, y, pool);
    case ConvMethod::pointwise_gemm:
      gemm(isa, static_cast<int>(pixels), g.out_c, g.in_c, row_major(x, g.in_c), transposed(w, g.in_c), y,
           static_cast<std::size_t>(g.out_c), false, pool);
      break;
    case ConvMethod::im2col_gemm: {
      const int patch = patch_size(g);
      ensure_shape(ws.columns, Shape{static_cast<int>(pixels), patch});
      im2col(g, x, ws.columns.data(), pool);
      gemm(isa, static_cast<int>(pixels), g.out_c, patch, row_major(ws.columns.data(), patch), transposed(w, patch), y,
           static_cast<std::size_t>(g.out_c), false, pool);
      break;
    }
  }
  if (bias) add_bias(pixels, g.out_c, bias, y);
}

// dx = d loss / d x (overwritten).
inline void conv2d_backward_input(Isa isa, const ConvGeometry& g, const float* dy, const float* w, float* dx,
                                  ConvWorkspace& ws, ThreadPool* pool) {
  using namespace detail_conv;
  const std::size_t pixels = output_pixels(g);
  switch (conv_method(isa, g)) {
    case ConvMethod::reference: return ref::conv2d_backward_input(g, dy, w, dx);
    case ConvMethod::depthwise: return depthwise_backward_input(isa, g, dy, w, dx, pool);
    case ConvMethod::pointwise_gemm:
      return gemm(isa, static_cast<int>(pixels), g.in_c, g.out_c, row_major(dy, g.out_c), row_major(w, g.in_c), dx,
                  static_cast<std::size_t>(g.in_c), false, pool);
    case ConvMethod::im2col_gemm: {
      // The columns' storage is free again once the weight gradient has been taken, which the layer
      // does first; the column gradient reuses it.
      const int patch = patch_size(g);
      ensure_shape(ws.columns, Shape{static_cast<int>(pixels), patch});
      gemm(isa, static_cast<int>(pixels), patch, g.out_c, row_major(dy, g.out_c), row_major(w, patch),
           ws.columns.data(), static_cast<std::size_t>(patch), false, pool);
      return col2im(g, ws.columns.data(), dx, pool);
    }
  }
}

// dw += d loss / d w, dbias += d loss / d bias (may be null). Call before conv2d_backward_input: for
// im2col it reads the columns the forward pass left in the workspace.
inline void conv2d_backward_weights(Isa isa, const ConvGeometry& g, const float* x, const float* dy, float* dw,
                                    float* dbias, ConvWorkspace& ws, ThreadPool* pool) {
  using namespace detail_conv;
  const std::size_t pixels = output_pixels(g);
  const ConvMethod method = conv_method(isa, g);
  if (method == ConvMethod::reference) return ref::conv2d_backward_weights(g, x, dy, dw, dbias);
  if (method == ConvMethod::depthwise) return depthwise_backward_weights(isa, g, x, dy, dw, dbias, pool);
  const int patch = patch_size(g);
  const float* columns = method == ConvMethod::pointwise_gemm ? x : ws.columns.data();
  // dw (out_c x patch) += dy^T (out_c x pixels) * columns (pixels x patch)
  gemm(isa, g.out_c, patch, static_cast<int>(pixels), transposed(dy, g.out_c), row_major(columns, patch), dw,
       static_cast<std::size_t>(patch), true, pool);
  if (dbias) sum_rows_into(pixels, g.out_c, dy, dbias);
}

}  // namespace pfld::kernels
