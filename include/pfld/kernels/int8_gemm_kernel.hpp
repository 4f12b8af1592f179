// The contract between the int8 GEMM (kernels/int8_gemm.hpp) and its per-ISA kernels: unsigned 8-bit
// activations times signed 8-bit weights, summed exactly in 32-bit integers, then requantized to
// unsigned 8-bit outputs through float operations every ISA performs identically, so each kernel
// matches the scalar reference bit for bit.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace pfld::kernels {

// B's packed layout, the same for every ISA: panels of kInt8PanelColumns columns; in a panel, for each
// group of kInt8DotDepth consecutive k, the columns one after the other with their kInt8DotDepth
// weights adjacent (one 32-bit lane of a dot-product instruction: vpdpbusd, sdot), then the panel's
// column sums as int32 (the NEON kernels multiply signed bytes, A - 128, and add 128 x the sum back).
// k rounds up to a multiple of kInt8DotDepth and n to a multiple of kInt8PanelColumns, with zeros.
constexpr int kInt8PanelColumns = 16;
constexpr int kInt8DotDepth = 4;

// Requantization of the int32 sums of C's row i, column n, to an unsigned byte:
//   y = fma(float(sum + offset[n]), scale[n], shift[n])        the product in output units
//   y = fma(float(residual[i][n]), residual_scale, y)          when a residual is given
//   c = nearbyint(min(max(y, lo), hi))                          lo, hi: whole numbers in [0, 255]
// offset holds the activations' zero point times minus the column sum of B; scale the input and weight
// scales over the output scale; shift the bias over the output scale plus the output zero point (minus
// the residual's zero point times residual_scale). Rounding is to nearest, ties to even.
struct Int8Requantize {
  const std::int32_t* offset = nullptr;  // n entries (padded to the panel width is not required)
  const float* scale = nullptr;          // n entries
  const float* shift = nullptr;          // n entries
  const std::uint8_t* residual = nullptr;  // null: none; else m x n bytes, row stride residual_stride
  std::size_t residual_stride = 0;
  float residual_scale = 0.0f;
  float lo = 0.0f;
  float hi = 255.0f;
};

// Bytes a kernel may read past k in a row of A (rounding k up to whole groups; they meet zero weights,
// so their values do not matter): the caller keeps this many readable after A's last row, as XNNPACK
// asks XNN_EXTRA_BYTES of its inputs.
constexpr int kInt8ReadPast = kInt8DotDepth - 1;

// C (m x n bytes, row stride ldc) = requantize(A (m x k bytes, row stride lda) * B (packed, k x n)).
// Reads A's rows up to kInt8ReadPast bytes past k. Allocates nothing; any m, k, n >= 1.
using Int8GemmFn = void (*)(int m, int k, int n, const std::uint8_t* a, std::size_t lda, const std::int8_t* packed_b,
                            const Int8Requantize& e, std::uint8_t* c, std::size_t ldc);

// The requantization of one sum (the reference's, and every kernel's tail).
inline std::uint8_t int8_requantize(const Int8Requantize& e, int i, int n, std::int32_t sum) {
  float y = std::fma(static_cast<float>(sum + e.offset[n]), e.scale[n], e.shift[n]);
  if (e.residual)
    y = std::fma(static_cast<float>(e.residual[static_cast<std::size_t>(i) * e.residual_stride + static_cast<std::size_t>(n)]),
                 e.residual_scale, y);
  y = y < e.lo ? e.lo : (y > e.hi ? e.hi : y);
  return static_cast<std::uint8_t>(std::nearbyint(y));
}

// Bytes of a packed panel's weights for a depth of k; its column sums follow them.
inline std::size_t int8_panel_weight_bytes(int k) {
  return static_cast<std::size_t>((k + kInt8DotDepth - 1) / kInt8DotDepth) * kInt8DotDepth * kInt8PanelColumns;
}

// Bytes of one packed panel: weights, then kInt8PanelColumns int32 column sums.
inline std::size_t int8_panel_bytes(int k) {
  return int8_panel_weight_bytes(k) + kInt8PanelColumns * sizeof(std::int32_t);
}

}  // namespace pfld::kernels
