// AVX-512 int8 GEMM kernels (int8_gemm_simd.inc over zmm vectors of 16 int32 lanes): with VNNI, one
// vpdpbusd per 64 multiply-adds; without, the same exact sums from vpmaddwd on the even and odd bytes
// split to 16 bits (vpmaddubsw would saturate u8 x s8 pairs).
#pragma once

#include "../../core/cpu.hpp"
#include "../int8_gemm_kernel.hpp"

#if defined(PFLD_COMPILE_AVX512)
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

// Both variants' requantizing store and their traits, compiled for AVX-512BW; the VNNI variant's
// region below adds avx512vnni (only there may the compiler emit it).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma")
#endif

namespace pfld::kernels::avx512 {

struct Int8Zmm {
  using ivec = __m512i;
  static constexpr int lanes = 16;
  static ivec zero() { return _mm512_setzero_si512(); }

  // (maskz forms throughout: GCC 12 flags the plain ones' undefined pass-through as maybe-uninitialized)
  struct Columns {
    __mmask16 mask;
    __m512i offset;
    __m512 scale, shift;
  };
  struct Bounds {
    __m512 lo, hi, residual_scale;
  };
  static Columns columns(const Int8Requantize& e, int n, int count, const std::int8_t*) {
    const __mmask16 mask = static_cast<__mmask16>(count >= 16 ? 0xffff : (1u << count) - 1);
    return {mask, _mm512_maskz_loadu_epi32(mask, e.offset + n), _mm512_maskz_loadu_ps(mask, e.scale + n),
            _mm512_maskz_loadu_ps(mask, e.shift + n)};
  }
  static Bounds bounds(const Int8Requantize& e) {
    return {_mm512_set1_ps(e.lo), _mm512_set1_ps(e.hi), _mm512_set1_ps(e.residual_scale)};
  }
  // (count == lanes, a constant in whole tiles: unmasked loads and stores)
  static void store(ivec sums, const Columns& k, const Bounds& b, const std::uint8_t* residual, int count, std::uint8_t* out) {
    __m512 y = _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(0xffff, _mm512_add_epi32(sums, k.offset)), k.scale, k.shift);
    if (residual) {
      const __m128i r = count == lanes ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(residual)) : _mm_maskz_loadu_epi8(k.mask, residual);
      y = _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(0xffff, _mm512_maskz_cvtepu8_epi32(0xffff, r)), b.residual_scale, y);
    }
    y = _mm512_maskz_min_ps(0xffff, _mm512_maskz_max_ps(0xffff, y, b.lo), b.hi);
    const __m128i q = _mm512_maskz_cvtepi32_epi8(0xffff, _mm512_maskz_cvtps_epi32(0xffff, y));  // nearest even
    if (count == lanes)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), q);
    else
      _mm_mask_storeu_epi8(out, k.mask, q);
  }
};

// Without VNNI: u8 x s8 products summed in pairs by vpmaddwd, the even bytes (0, 2) and the odd (1, 3)
// of each lane separately, all in 16-bit lanes: exact.
struct Int8ZmmPlain : Int8Zmm {
  struct BForm {
    __m512i even, odd;
  };
  struct AForm {
    __m512i even, odd;
  };
  static BForm b_form(const void* p) {
    const __m512i b = _mm512_loadu_si512(p);
    return {_mm512_srai_epi16(_mm512_slli_epi16(b, 8), 8), _mm512_srai_epi16(b, 8)};
  }
  static AForm a_form(std::uint32_t four) {
    const __m512i a = _mm512_set1_epi32(static_cast<int>(four));
    return {_mm512_and_si512(a, _mm512_set1_epi16(0x00ff)), _mm512_srli_epi16(a, 8)};
  }
  static ivec dot(ivec acc, const AForm& a, const BForm& b) {
    return _mm512_add_epi32(acc, _mm512_add_epi32(_mm512_madd_epi16(a.even, b.even), _mm512_madd_epi16(a.odd, b.odd)));
  }
};

namespace int8_plain {
using I = Int8ZmmPlain;
#include "../int8_gemm_simd.inc"
}  // namespace int8_plain

// 8 rows x 2 panels: 16 sums, 4 split B vectors and 2 split A vectors of the 32 registers.
inline void int8_gemm_plain(int m, int k, int n, const std::uint8_t* a, std::size_t lda, const std::int8_t* packed_b,
                            const Int8Requantize& e, std::uint8_t* c, std::size_t ldc) {
  int8_plain::int8_gemm_rows<8, 2>(m, k, n, a, lda, packed_b, e, c, ldc);
}

}  // namespace pfld::kernels::avx512

#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx512vnni"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx512vnni")
#endif

namespace pfld::kernels::avx512 {

struct Int8ZmmVnni : Int8Zmm {
  using BForm = __m512i;
  using AForm = __m512i;
  static BForm b_form(const void* p) { return _mm512_loadu_si512(p); }
  static AForm a_form(std::uint32_t four) { return _mm512_set1_epi32(static_cast<int>(four)); }
  static ivec dot(ivec acc, AForm a, BForm b) { return _mm512_dpbusd_epi32(acc, a, b); }
};

namespace int8_vnni {
using I = Int8ZmmVnni;
#include "../int8_gemm_simd.inc"
}  // namespace int8_vnni

// 6 rows x 4 panels: 24 sums, 4 B vectors, one broadcast of A feeding four vpdpbusd (12 x 2, with
// twice the broadcasts per vpdpbusd, measured slower on whole networks).
inline void int8_gemm_vnni(int m, int k, int n, const std::uint8_t* a, std::size_t lda, const std::int8_t* packed_b,
                           const Int8Requantize& e, std::uint8_t* c, std::size_t ldc) {
  int8_vnni::int8_gemm_rows<6, 4>(m, k, n, a, lda, packed_b, e, c, ldc);
}

}  // namespace pfld::kernels::avx512

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#endif
