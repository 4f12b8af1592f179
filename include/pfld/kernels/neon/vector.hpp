// NEON (AArch64): the vector type `V` (4-float q vectors) the kernels written once over V (*_simd.inc) are
// instantiated with.
#pragma once

#include "../../core/cpu.hpp"

#if defined(PFLD_ARCH_AARCH64)
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pfld::kernels::neon {

struct V {
  using type = float32x4_t;
  static constexpr int width = 4;
  // Accumulator registers a register-tiled kernel may keep live (the rest hold operands).
  static constexpr int accumulators = 24;
  static type load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, type v) { vst1q_f32(p, v); }
  static type zero() { return vdupq_n_f32(0.0f); }
  // The first n (< width) lanes; the others read as zero and are not written.
  static type load_n(const float* p, int n) {
    float lanes[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < n; ++i) lanes[i] = p[i];
    return vld1q_f32(lanes);
  }
  static void store_n(float* p, type v, int n) {
    float lanes[4];
    vst1q_f32(lanes, v);
    for (int i = 0; i < n; ++i) p[i] = lanes[i];
  }
  static type set1(float v) { return vdupq_n_f32(v); }
  // The value as a register the compiler cannot see into (see avx512/vector.hpp).
  static type in_register(type v) {
    asm("" : "+w"(v));
    return v;
  }
  static type max(type a, type b) { return vmaxq_f32(a, b); }
  static type clamp(type v, type lo, type hi) { return vminq_f32(vmaxq_f32(v, lo), hi); }
  static type add(type a, type b) { return vaddq_f32(a, b); }
  static type fma(type a, type b, type c) { return vfmaq_f32(c, a, b); }
  static type fused_fma(type a, type b, type c) { return vfmaq_f32(c, a, b); }
  // Bytes as floats and back (see avx512/vector.hpp).
  static type load_u8_n(const std::uint8_t* p, int n) {
    std::uint8_t bytes[8] = {};
    std::memcpy(bytes, p, static_cast<std::size_t>(n));
    return vcvtq_f32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vld1_u8(bytes)))));
  }
  static type load_u8(const std::uint8_t* p) { return load_u8_n(p, width); }
  static void store_u8_n(std::uint8_t* p, type v, int n) {
    const uint16x4_t words = vqmovun_s32(vcvtnq_s32_f32(v));
    std::uint8_t bytes[8];
    vst1_u8(bytes, vqmovn_u16(vcombine_u16(words, words)));
    std::memcpy(p, bytes, static_cast<std::size_t>(n));
  }
  static void store_u8(std::uint8_t* p, type v) { store_u8_n(p, v, width); }
  static type sub(type a, type b) { return vsubq_f32(a, b); }
  static type mul(type a, type b) { return vmulq_f32(a, b); }
  // v where lo < y < hi, else 0.
  static type inside(type v, type y, type lo, type hi) {
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vandq_u32(vcgtq_f32(y, lo), vcltq_f32(y, hi))));
  }
};

}  // namespace pfld::kernels::neon

#endif
