// The one way kernels are chosen: a table of one ISA's kernels, built once per ISA. Every entry is that
// ISA's function, or the scalar reference's (kernels::ref: the same code over a width-1 vector) where
// the ISA is Isa::ref or not compiled for this architecture. Layers and the runtime call through
// kernel_table(isa); nothing else switches on the ISA to pick a kernel (docs/ARCHITECTURE.md, 5).
#pragma once

#include "../core/compilation.hpp"
#include "../core/cpu.hpp"
#include "../core/error.hpp"
#include "gemm_kernel.hpp"
#include "int8_gemm_kernel.hpp"
#include "ref/simd_kernels.hpp"  // (the entries' types)
#if PFLD_DEFINE_ENTRIES
#include "avx2/gemm_6x16.hpp"
#include "avx2/simd_kernels.hpp"
#include "avx512/gemm.hpp"
#include "avx512/simd_kernels.hpp"
#include "neon/gemm_8x8.hpp"
#include "neon/simd_kernels.hpp"
#include "ref/gemm_4x8.hpp"
#include "ref/int8_gemm.hpp"
#if PFLD_KERNELS_INT8
#include "avx2/int8_gemm.hpp"
#include "avx512/int8_gemm.hpp"
#include "neon/int8_gemm.hpp"
#endif
#endif

namespace pfld::kernels {

// One ISA's kernels. kernel_table(isa) returns a table built once (thread-safe static initialisation)
// and never changed after: callers on any thread may hold the reference for the program's life.
struct KernelTable {
  Isa isa = Isa::ref;
  GemmKernel gemm{};         // the micro-kernel for products wider than 16 columns
  GemmKernel gemm_narrow{};  // for 16 columns or fewer (the same as gemm where the ISA has no narrow one)
  decltype(&ref::direct_conv_forward_rows) direct_conv_forward_rows = nullptr;
  decltype(&ref::depthwise_forward_rows) depthwise_forward_rows = nullptr;
  decltype(&ref::depthwise_max_pool_rows) depthwise_max_pool_rows = nullptr;
  decltype(&ref::add_clamped) add_clamped = nullptr;
  decltype(&ref::add_upsampled) add_upsampled = nullptr;
  decltype(&ref::max_pool_2x2_rows) max_pool_2x2_rows = nullptr;
  decltype(&ref::quantize_u8) quantize_u8 = nullptr;
  decltype(&ref::dequantize_u8) dequantize_u8 = nullptr;
  decltype(&ref::int8_depthwise_rows) int8_depthwise_rows = nullptr;
  decltype(&ref::max_pool_2x2_rows_u8) max_pool_2x2_rows_u8 = nullptr;
  decltype(&ref::add_upsampled_u8) add_upsampled_u8 = nullptr;
  decltype(&ref::depthwise_backward_input_rows) depthwise_backward_input_rows = nullptr;
  decltype(&ref::depthwise_backward_weights_block) depthwise_backward_weights_block = nullptr;
  decltype(&ref::batch_norm_block_stats) batch_norm_block_stats = nullptr;
  decltype(&ref::batch_norm_normalize_rows) batch_norm_normalize_rows = nullptr;
  decltype(&ref::batch_norm_backward_sums<false>) batch_norm_backward_sums[2] = {nullptr, nullptr};  // [masked]
  decltype(&ref::batch_norm_backward_dx<false>) batch_norm_backward_dx[2] = {nullptr, nullptr};      // [masked]
  // The int8 GEMM (int8_gemm.hpp): with the CPU's 8-bit dot products where it has them (vpdpbusd, sdot).
  Int8GemmFn int8_gemm = nullptr;
  bool warp_gathers = false;  // the crop warp's vector path (kernels/warp.hpp) runs on this ISA
};

// The kernels of `isa`: the reference's for Isa::ref and for an ISA this build has no code for.
PFLD_ENTRY const KernelTable& kernel_table(Isa isa);

// An Error in a build that leaves out the table's training passes (batch norm's, the depthwise
// backward: PFLD_KERNELS_TRAINING=0 makes those entries null); their callers ask first.
inline void require_training_kernels(Isa isa) {
  detail::require(kernel_table(isa).batch_norm_block_stats != nullptr,
                  "training: this build leaves out the training kernels (PFLD_KERNELS_TRAINING=0)");
}

#if PFLD_DEFINE_ENTRIES

// The table of the kernels in namespace `ns` (every ISA's namespace has the *_simd.inc kernels), with
// its GEMM micro-kernels and whether the warp gathers; its int8 kernels unless PFLD_KERNELS_INT8 is 0.
#if PFLD_KERNELS_INT8
#define PFLD_INT8_GEMM(ns, kernel) (kernel)
#define PFLD_INT8_KERNEL(ns, kernel) (&ns::kernel)
#else
#define PFLD_INT8_GEMM(ns, kernel) (&ref::int8_gemm)
#define PFLD_INT8_KERNEL(ns, kernel) (&ref::kernel)
#endif
#if PFLD_KERNELS_TRAINING
#define PFLD_TRAINING_KERNEL(ns, kernel) (&ns::kernel)
#else
#define PFLD_TRAINING_KERNEL(ns, kernel) nullptr
#endif
#define PFLD_KERNEL_TABLE(ns, which, wide, narrow, int8, gathers)                                    \
  [] {                                                                                               \
    KernelTable t;                                                                                   \
    t.isa = (which);                                                                                 \
    t.gemm = (wide);                                                                                 \
    t.gemm_narrow = (narrow);                                                                        \
    t.direct_conv_forward_rows = &ns::direct_conv_forward_rows;                                      \
    t.depthwise_forward_rows = &ns::depthwise_forward_rows;                                          \
    t.depthwise_max_pool_rows = &ns::depthwise_max_pool_rows;                                        \
    t.add_clamped = &ns::add_clamped;                                                                \
    t.add_upsampled = &ns::add_upsampled;                                                            \
    t.max_pool_2x2_rows = &ns::max_pool_2x2_rows;                                                    \
    t.quantize_u8 = &ns::quantize_u8;                                                                \
    t.dequantize_u8 = &ns::dequantize_u8;                                                            \
    t.int8_depthwise_rows = PFLD_INT8_KERNEL(ns, int8_depthwise_rows);                               \
    t.max_pool_2x2_rows_u8 = PFLD_INT8_KERNEL(ns, max_pool_2x2_rows_u8);                             \
    t.add_upsampled_u8 = PFLD_INT8_KERNEL(ns, add_upsampled_u8);                                     \
    t.depthwise_backward_input_rows = PFLD_TRAINING_KERNEL(ns, depthwise_backward_input_rows);       \
    t.depthwise_backward_weights_block = PFLD_TRAINING_KERNEL(ns, depthwise_backward_weights_block); \
    t.batch_norm_block_stats = PFLD_TRAINING_KERNEL(ns, batch_norm_block_stats);                     \
    t.batch_norm_normalize_rows = PFLD_TRAINING_KERNEL(ns, batch_norm_normalize_rows);               \
    t.batch_norm_backward_sums[0] = PFLD_TRAINING_KERNEL(ns, batch_norm_backward_sums<false>);       \
    t.batch_norm_backward_sums[1] = PFLD_TRAINING_KERNEL(ns, batch_norm_backward_sums<true>);        \
    t.batch_norm_backward_dx[0] = PFLD_TRAINING_KERNEL(ns, batch_norm_backward_dx<false>);           \
    t.batch_norm_backward_dx[1] = PFLD_TRAINING_KERNEL(ns, batch_norm_backward_dx<true>);            \
    t.int8_gemm = PFLD_INT8_GEMM(ns, int8);                                                          \
    t.warp_gathers = (gathers);                                                                      \
    return t;                                                                                        \
  }()

// AVX2 gathers the crop warp's pixels on AVX-512 CPUs too: 16-lane gathers measured no faster.
PFLD_ENTRY const KernelTable& kernel_table(Isa isa) {
  static const KernelTable reference =
      PFLD_KERNEL_TABLE(ref, Isa::ref, ref::gemm_kernel(), ref::gemm_kernel(), &ref::int8_gemm, false);
  (void)isa;  // (a build with no SIMD kernels has the reference's alone)
#if defined(PFLD_COMPILE_AVX2)
  static const KernelTable avx2 =
      PFLD_KERNEL_TABLE(avx2, Isa::avx2, avx2::gemm_kernel(), avx2::gemm_kernel(),
                        cpu_features().avxvnni ? &avx2::int8_gemm_vnni : &avx2::int8_gemm_plain, true);
  if (isa == Isa::avx2) return avx2;
#endif
#if defined(PFLD_COMPILE_AVX512)
  constexpr bool avx2_gathers = isa_compiled(Isa::avx2);  // (the warp's gathering code is AVX2's)
  static const KernelTable avx512 =
      PFLD_KERNEL_TABLE(avx512, Isa::avx512, avx512::gemm_kernel(), avx512::gemm_kernel_narrow(),
                        cpu_features().avx512vnni ? &avx512::int8_gemm_vnni : &avx512::int8_gemm_plain, avx2_gathers);
  if (isa == Isa::avx512) return avx512;
#endif
#if defined(PFLD_ARCH_AARCH64)
  static const KernelTable neon =
      PFLD_KERNEL_TABLE(neon, Isa::neon, neon::gemm_kernel(), neon::gemm_kernel(),
                        cpu_features().neon_dot ? &neon::int8_gemm_dot : &neon::int8_gemm_plain, false);
  if (isa == Isa::neon) return neon;
#endif
  return reference;
}

#undef PFLD_KERNEL_TABLE
#undef PFLD_INT8_GEMM
#undef PFLD_INT8_KERNEL
#undef PFLD_TRAINING_KERNEL

#endif  // PFLD_DEFINE_ENTRIES

}  // namespace pfld::kernels
