// The scalar reference of the int8 GEMM (kernels/int8_gemm_kernel.hpp): the definition every SIMD
// kernel is tested against, bit for bit. Reads B in its packed layout, so the tests check the packing too.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../int8_gemm_kernel.hpp"

namespace pfld::kernels::ref {

inline void int8_gemm(int m, int k, int n, const std::uint8_t* a, std::size_t lda, const std::int8_t* packed_b,
                      const Int8Requantize& e, std::uint8_t* c, std::size_t ldc) {
  const std::size_t panel = int8_panel_bytes(k);
  for (int i = 0; i < m; ++i) {
    const std::uint8_t* row = a + static_cast<std::size_t>(i) * lda;
    for (int j = 0; j < n; ++j) {
      const std::int8_t* b = packed_b + static_cast<std::size_t>(j / kInt8PanelColumns) * panel +
                             static_cast<std::size_t>(j % kInt8PanelColumns) * kInt8DotDepth;
      std::int32_t sum = 0;
      for (int q = 0; q < k; ++q)
        sum += static_cast<std::int32_t>(row[q]) *
               b[static_cast<std::size_t>(q / kInt8DotDepth) * kInt8DotDepth * kInt8PanelColumns + q % kInt8DotDepth];
      c[static_cast<std::size_t>(i) * ldc + static_cast<std::size_t>(j)] = int8_requantize(e, i, j, sum);
    }
  }
}

}  // namespace pfld::kernels::ref
