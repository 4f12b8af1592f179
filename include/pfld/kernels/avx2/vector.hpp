// AVX2 + FMA: the vector type `V` (8-float ymm vectors) the kernels written once over V (*_simd.inc) are
// instantiated with.
#pragma once

#include "../../core/cpu.hpp"

#if defined(PFLD_COMPILE_AVX2)
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "target_begin.inc"

namespace pfld::kernels::avx2 {

struct V {
  using type = __m256;
  static constexpr int width = 8;
  // Accumulator registers a register-tiled kernel may keep live (the rest hold operands).
  static constexpr int accumulators = 12;
  static type load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, type v) { _mm256_storeu_ps(p, v); }
  static type zero() { return _mm256_setzero_ps(); }
  // The first n (< width) lanes; the others read as zero and are not written.
  static __m256i mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static type load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store_n(float* p, type v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static type set1(float v) { return _mm256_set1_ps(v); }
  // The value as a register the compiler cannot see into: a load whose value feeds several FMAs is
  // then made once, not folded into each FMA as a memory operand (a load per use).
  static type in_register(type v) {
    asm("" : "+x"(v));
    return v;
  }
  static type max(type a, type b) { return _mm256_max_ps(a, b); }
  static type clamp(type v, type lo, type hi) { return _mm256_min_ps(_mm256_max_ps(v, lo), hi); }
  static type add(type a, type b) { return _mm256_add_ps(a, b); }
  static type fma(type a, type b, type c) { return _mm256_fmadd_ps(a, b, c); }
  static type fused_fma(type a, type b, type c) { return _mm256_fmadd_ps(a, b, c); }
  // Bytes as floats and back (see avx512/vector.hpp).
  static type load_u8(const std::uint8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static type load_u8_n(const std::uint8_t* p, int n) {
    alignas(16) std::uint8_t bytes[16] = {};
    std::memcpy(bytes, p, static_cast<std::size_t>(n));
    return load_u8(bytes);
  }
  static void store_u8_n(std::uint8_t* p, type v, int n) {
    const __m256i q = _mm256_cvtps_epi32(v);
    const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    alignas(16) std::uint8_t bytes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(bytes), _mm_packus_epi16(words, words));
    std::memcpy(p, bytes, static_cast<std::size_t>(n));
  }
  static void store_u8(std::uint8_t* p, type v) { store_u8_n(p, v, width); }
  static type sub(type a, type b) { return _mm256_sub_ps(a, b); }
  static type mul(type a, type b) { return _mm256_mul_ps(a, b); }
  // v where lo < y < hi, else 0.
  static type inside(type v, type y, type lo, type hi) {
    return _mm256_and_ps(v, _mm256_and_ps(_mm256_cmp_ps(y, lo, _CMP_GT_OQ), _mm256_cmp_ps(y, hi, _CMP_LT_OQ)));
  }
};

// The crop warp's companion of V (warp_simd.inc): 8 pixels per block, their coordinates in double.
struct W {
  using itype = __m256i;
  static constexpr int width = 8;

  // Taps along one axis for pixels u .. u + 7: t = (a (u + l) + row) + c, clamped to +-1e6 and floored
  // as the scalar warp does; i0 the pixel before t, w the weight of the one after. True when i0 and
  // i0 + 1 are inside [0, extent) for all eight.
  static bool taps(double a, double row, double c, int u, int extent, itype& i0, __m256& w) {
    const __m256d va = _mm256_set1_pd(a), vrow = _mm256_set1_pd(row), vc = _mm256_set1_pd(c);
    const __m256d lo = _mm256_set1_pd(-1e6), hi = _mm256_set1_pd(1e6);
    __m128i index[2];
    __m128 weight[2];
    for (int h = 0; h < 2; ++h) {
      const __m256d pos = _mm256_add_pd(_mm256_set1_pd(u + 4 * h), _mm256_setr_pd(0, 1, 2, 3));
      const __m256d t = _mm256_min_pd(_mm256_max_pd(_mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(va, pos), vrow), vc), lo), hi);
      const __m256d floor = _mm256_floor_pd(t);
      index[h] = _mm256_cvttpd_epi32(floor);
      weight[h] = _mm256_cvtpd_ps(_mm256_sub_pd(t, floor));
    }
    i0 = _mm256_set_m128i(index[1], index[0]);
    w = _mm256_set_m128(weight[1], weight[0]);
    const __m256i ok = _mm256_and_si256(_mm256_cmpgt_epi32(i0, _mm256_set1_epi32(-1)),
                                        _mm256_cmpgt_epi32(_mm256_set1_epi32(extent - 1), i0));
    return _mm256_movemask_epi8(ok) == -1;
  }
  // Byte offsets of pixels (x0, y0) in an image of three bytes per pixel.
  static itype offsets(itype x0, itype y0, int stride) {
    return _mm256_add_epi32(_mm256_mullo_epi32(y0, _mm256_set1_epi32(stride)), _mm256_mullo_epi32(x0, _mm256_set1_epi32(3)));
  }
  static itype add(itype a, int b) { return _mm256_add_epi32(a, _mm256_set1_epi32(b)); }
  // The 32-bit word at each byte offset.
  static itype gather(const std::uint8_t* base, itype offsets) {
    return _mm256_i32gather_epi32(reinterpret_cast<const int*>(base), offsets, 1);
  }
  // Byte k (0 = lowest) of each word, as a float.
  static __m256 byte(itype words, int k) {
    return _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srl_epi32(words, _mm_cvtsi32_si128(8 * k)), _mm256_set1_epi32(0xff)));
  }
  // out[3 l + c] = channel c of pixel l: output vector j's lane l is pixel (8 j + l) / 3, taken from r,
  // g or b by (8 j + l) % 3 (the masks' -1 lanes).
  static void store_rgb(float* out, __m256 r, __m256 g, __m256 b) {
    alignas(32) static constexpr int kPixel[3][8] = {{0, 0, 0, 1, 1, 1, 2, 2}, {2, 3, 3, 3, 4, 4, 4, 5}, {5, 5, 6, 6, 6, 7, 7, 7}};
    alignas(32) static constexpr int kFromG[3][8] = {{0, -1, 0, 0, -1, 0, 0, -1}, {0, 0, -1, 0, 0, -1, 0, 0}, {-1, 0, 0, -1, 0, 0, -1, 0}};
    alignas(32) static constexpr int kFromB[3][8] = {{0, 0, -1, 0, 0, -1, 0, 0}, {-1, 0, 0, -1, 0, 0, -1, 0}, {0, -1, 0, 0, -1, 0, 0, -1}};
    for (int j = 0; j < 3; ++j) {
      const __m256i index = _mm256_load_si256(reinterpret_cast<const __m256i*>(kPixel[j]));
      const __m256 rg = _mm256_blendv_ps(_mm256_permutevar8x32_ps(r, index), _mm256_permutevar8x32_ps(g, index),
                                         _mm256_castsi256_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(kFromG[j]))));
      _mm256_storeu_ps(out + 8 * j, _mm256_blendv_ps(rg, _mm256_permutevar8x32_ps(b, index),
                                                     _mm256_castsi256_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(kFromB[j])))));
    }
  }
};

}  // namespace pfld::kernels::avx2

#include "target_end.inc"
#endif
