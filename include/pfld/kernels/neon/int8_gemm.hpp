// NEON int8 GEMM kernels (int8_gemm_simd.inc over q vectors of 4 int32 lanes). NEON multiplies signed
// bytes with signed bytes, so A's unsigned bytes enter as A - 128 (one XOR) and the requantization adds
// 128 x the column sum back: the same exact sums as the reference. With the ARMv8.2 dot product, one
// sdot per 16 multiply-adds; without, widening multiplies (smull) and pairwise accumulation (sadalp).
#pragma once

#include "../../core/cpu.hpp"
#include "../int8_gemm_kernel.hpp"

#if defined(PFLD_ARCH_AARCH64)
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pfld::kernels::neon {

// The requantization shared by both variants: per-column vectors (the offset includes 128 x the column
// sum, which the signed products lack), bounds, and the store of one row's true sums.
struct Int8QColumns {
  int32x4_t offset;
  float32x4_t scale, shift;
};
struct Int8QBounds {
  float32x4_t lo, hi, residual_scale;
};

inline Int8QColumns int8_columns(const Int8Requantize& e, int n, int count, const std::int8_t* column_sums) {
  std::int32_t offset[4] = {0, 0, 0, 0}, sums[4] = {0, 0, 0, 0};
  float scale[4] = {0, 0, 0, 0}, shift[4] = {0, 0, 0, 0};
  const std::size_t lanes = static_cast<std::size_t>(count);
  std::memcpy(offset, e.offset + n, lanes * sizeof(std::int32_t));
  std::memcpy(sums, column_sums, lanes * sizeof(std::int32_t));
  std::memcpy(scale, e.scale + n, lanes * sizeof(float));
  std::memcpy(shift, e.shift + n, lanes * sizeof(float));
  return {vaddq_s32(vld1q_s32(offset), vshlq_n_s32(vld1q_s32(sums), 7)), vld1q_f32(scale), vld1q_f32(shift)};
}

inline Int8QBounds int8_bounds(const Int8Requantize& e) {
  return {vdupq_n_f32(e.lo), vdupq_n_f32(e.hi), vdupq_n_f32(e.residual_scale)};
}

inline void int8_store(int32x4_t sums, const Int8QColumns& k, const Int8QBounds& b, const std::uint8_t* residual, int count,
                       std::uint8_t* out) {
  float32x4_t y = vfmaq_f32(k.shift, vcvtq_f32_s32(vaddq_s32(sums, k.offset)), k.scale);
  if (residual) {
    std::uint8_t r[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(r, residual, static_cast<std::size_t>(count));
    const uint32x4_t wide = vmovl_u16(vget_low_u16(vmovl_u8(vld1_u8(r))));
    y = vfmaq_f32(y, vcvtq_f32_u32(wide), b.residual_scale);
  }
  y = vminq_f32(vmaxq_f32(y, b.lo), b.hi);
  const uint16x4_t words = vqmovun_s32(vcvtnq_s32_f32(y));  // rounds to nearest even
  std::uint8_t stored[8];
  vst1_u8(stored, vqmovn_u16(vcombine_u16(words, words)));
  std::memcpy(out, stored, static_cast<std::size_t>(count));
}

// Without the dot product: the products widened to 16 bits (smull), added in pairs into 32 bits
// (sadalp). A sum is kept as two vectors of pair sums, merged by the store.
// What both variants share: the requantization's per-column vectors and bounds.
struct Int8QRequant {
  using Columns = Int8QColumns;
  using Bounds = Int8QBounds;
  static Columns columns(const Int8Requantize& e, int n, int count, const std::int8_t* column_sums) {
    return int8_columns(e, n, count, column_sums);
  }
  static Bounds bounds(const Int8Requantize& e) { return int8_bounds(e); }
};

struct Int8QPlain : Int8QRequant {
  struct ivec {
    int32x4_t lo, hi;  // lanes: (column, k 0+1), (column, k 2+3) of columns 0-1 and 2-3
  };
  static constexpr int lanes = 4;
  using BForm = int8x16_t;
  using AForm = int8x16_t;
  static ivec zero() { return {vdupq_n_s32(0), vdupq_n_s32(0)}; }
  static BForm b_form(const void* p) { return vld1q_s8(static_cast<const std::int8_t*>(p)); }
  static AForm a_form(std::uint32_t four) { return vreinterpretq_s8_u32(vdupq_n_u32(four ^ 0x80808080u)); }
  static ivec dot(ivec acc, AForm a, BForm b) {
    return {vpadalq_s16(acc.lo, vmull_s8(vget_low_s8(a), vget_low_s8(b))), vpadalq_s16(acc.hi, vmull_high_s8(a, b))};
  }
  static void store(ivec sums, const Columns& k, const Bounds& b, const std::uint8_t* residual, int count, std::uint8_t* out) {
    int8_store(vpaddq_s32(sums.lo, sums.hi), k, b, residual, count, out);
  }
};

namespace int8_plain {
using I = Int8QPlain;
#include "../int8_gemm_simd.inc"
}  // namespace int8_plain

// 2 rows x 1 panel: 16 registers of pair sums, 4 of B.
inline void int8_gemm_plain(int m, int k, int n, const std::uint8_t* a, std::size_t lda, const std::int8_t* packed_b,
                            const Int8Requantize& e, std::uint8_t* c, std::size_t ldc) {
  int8_plain::int8_gemm_rows<2, 1>(m, k, n, a, lda, packed_b, e, c, ldc);
}

}  // namespace pfld::kernels::neon

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("dotprod"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")  // (as arm_neon.h declares vdotq_s32)
#endif

namespace pfld::kernels::neon {

struct Int8QDot : Int8QRequant {
  using ivec = int32x4_t;
  static constexpr int lanes = 4;
  using BForm = int8x16_t;
  using AForm = int8x16_t;
  static ivec zero() { return vdupq_n_s32(0); }
  static BForm b_form(const void* p) { return vld1q_s8(static_cast<const std::int8_t*>(p)); }
  static AForm a_form(std::uint32_t four) { return vreinterpretq_s8_u32(vdupq_n_u32(four ^ 0x80808080u)); }
  static ivec dot(ivec acc, AForm a, BForm b) { return vdotq_s32(acc, a, b); }
  static void store(ivec sums, const Columns& k, const Bounds& b, const std::uint8_t* residual, int count, std::uint8_t* out) {
    int8_store(sums, k, b, residual, count, out);
  }
};

namespace int8_dot {
using I = Int8QDot;
#include "../int8_gemm_simd.inc"
}  // namespace int8_dot

// 6 rows x 1 panel (four vectors): 24 sums, 4 B vectors, one broadcast of A.
inline void int8_gemm_dot(int m, int k, int n, const std::uint8_t* a, std::size_t lda, const std::int8_t* packed_b,
                          const Int8Requantize& e, std::uint8_t* c, std::size_t ldc) {
  int8_dot::int8_gemm_rows<6, 1>(m, k, n, a, lda, packed_b, e, c, ldc);
}

}  // namespace pfld::kernels::neon

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#endif
