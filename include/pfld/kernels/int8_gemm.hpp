// The int8 GEMM: unsigned 8-bit activations times signed 8-bit weights, requantized to unsigned 8-bit
// outputs (contract in int8_gemm_kernel.hpp). Weights are packed once (Int8PackedMatrix); the kernel is
// chosen by kernel_table(isa).int8_gemm, which takes the CPU's 8-bit dot-product instructions where it
// has them (AVX-512 VNNI, AVX-VNNI, the ARMv8.2 dot product).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../core/compilation.hpp"
#include "../core/cpu.hpp"
#include "../core/error.hpp"
#include "dispatch.hpp"
#include "int8_gemm_kernel.hpp"

namespace pfld::kernels {

// Signed 8-bit weights of n outputs over k inputs, packed for every int8 kernel, with each output's
// sum of weights (for the activations' zero point: Int8Requantize::offset). Immutable once built;
// safe to share between threads.
class Int8PackedMatrix {
 public:
  Int8PackedMatrix() = default;
  // weights: n rows of k (an output channel's weights adjacent, as in OHWI). Requires n, k >= 1.
  Int8PackedMatrix(int n, int k, const std::int8_t* weights) : n_(n), k_(k) {
    detail::require(n >= 1 && k >= 1, "Int8PackedMatrix: ", n, " x ", k, " weights");
    const std::size_t panel = int8_panel_bytes(k), panels = static_cast<std::size_t>((n + kInt8PanelColumns - 1) / kInt8PanelColumns);
    packed_.assign(panel * panels, 0);
    column_sums_.assign(static_cast<std::size_t>(n), 0);
    for (int j = 0; j < n; ++j) {
      std::int8_t* panel_start = packed_.data() + static_cast<std::size_t>(j / kInt8PanelColumns) * panel;
      std::int8_t* column = panel_start + static_cast<std::size_t>(j % kInt8PanelColumns) * kInt8DotDepth;
      for (int q = 0; q < k; ++q) {
        const std::int8_t w = weights[static_cast<std::size_t>(j) * static_cast<std::size_t>(k) + static_cast<std::size_t>(q)];
        column[static_cast<std::size_t>(q / kInt8DotDepth) * kInt8DotDepth * kInt8PanelColumns + q % kInt8DotDepth] = w;
        column_sums_[static_cast<std::size_t>(j)] += w;
      }
      std::memcpy(panel_start + int8_panel_weight_bytes(k) + static_cast<std::size_t>(j % kInt8PanelColumns) * sizeof(std::int32_t),
                  &column_sums_[static_cast<std::size_t>(j)], sizeof(std::int32_t));
    }
  }

  int rows() const { return k_; }  // k
  int cols() const { return n_; }  // n
  const std::int8_t* data() const { return packed_.data(); }
  const std::vector<std::int32_t>& column_sums() const { return column_sums_; }

 private:
  int n_ = 0, k_ = 0;
  std::vector<std::int8_t> packed_;
  std::vector<std::int32_t> column_sums_;
};

// C (m x b.cols() bytes, row stride ldc) = requantize(A (m x b.rows() bytes, row stride lda) * B) with the
// kernel of `isa`. Requires e's offset, scale and shift to hold b.cols() entries, and kInt8ReadPast
// readable bytes after A's last row (their values do not matter). Allocates nothing.
inline void int8_gemm(Isa isa, int m, const std::uint8_t* a, std::size_t lda, const Int8PackedMatrix& b,
                      const Int8Requantize& e, std::uint8_t* c, std::size_t ldc) {
  if (m <= 0) return;
  kernel_table(isa).int8_gemm(m, b.rows(), b.cols(), a, lda, b.data(), e, c, ldc);
}

// Every int8 kernel this CPU can run, by name ("ref", "avx512 vnni", ...): for tests and benchmarks,
// which check and time each, not only the one kernel_table picks.
struct Int8GemmVariant {
  std::string name;
  Int8GemmFn run;
};

PFLD_ENTRY std::vector<Int8GemmVariant> int8_gemm_variants();

#if PFLD_DEFINE_ENTRIES
PFLD_ENTRY std::vector<Int8GemmVariant> int8_gemm_variants() {
  std::vector<Int8GemmVariant> variants{{"ref", &ref::int8_gemm}};
  const CpuFeatures& f = cpu_features();
  (void)f;
#if PFLD_KERNELS_INT8
#if defined(PFLD_COMPILE_AVX2)
  if (isa_supported(Isa::avx2)) {
    variants.push_back({"avx2", &avx2::int8_gemm_plain});
    if (f.avxvnni) variants.push_back({"avx2 avx-vnni", &avx2::int8_gemm_vnni});
  }
#endif
#if defined(PFLD_COMPILE_AVX512)
  if (isa_supported(Isa::avx512)) {
    variants.push_back({"avx512", &avx512::int8_gemm_plain});
    if (f.avx512vnni) variants.push_back({"avx512 vnni", &avx512::int8_gemm_vnni});
  }
#endif
#if defined(PFLD_ARCH_AARCH64)
  variants.push_back({"neon", &neon::int8_gemm_plain});
  if (f.neon_dot) variants.push_back({"neon sdot", &neon::int8_gemm_dot});
#endif
#endif  // PFLD_KERNELS_INT8
  return variants;
}
#endif

}  // namespace pfld::kernels
