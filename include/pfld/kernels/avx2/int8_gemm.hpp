// AVX2 int8 GEMM kernels (int8_gemm_simd.inc over ymm vectors of 8 int32 lanes): with AVX-VNNI (the
// VEX vpdpbusd of recent AVX2 cores), one instruction per 32 multiply-adds; without, the exact sums
// from vpmaddwd on the even and odd bytes split to 16 bits.
#pragma once

#include "../../core/cpu.hpp"
#include "../int8_gemm_kernel.hpp"

#if defined(PFLD_COMPILE_AVX2)
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "target_begin.inc"

namespace pfld::kernels::avx2 {

struct Int8Ymm {
  using ivec = __m256i;
  static constexpr int lanes = 8;
  static ivec zero() { return _mm256_setzero_si256(); }

  struct Columns {
    __m256i offset;
    __m256 scale, shift;
  };
  struct Bounds {
    __m256 lo, hi, residual_scale;
  };
  static Columns columns(const Int8Requantize& e, int n, int count, const std::int8_t*) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return {_mm256_maskload_epi32(e.offset + n, mask), _mm256_maskload_ps(e.scale + n, mask), _mm256_maskload_ps(e.shift + n, mask)};
  }
  static Bounds bounds(const Int8Requantize& e) {
    return {_mm256_set1_ps(e.lo), _mm256_set1_ps(e.hi), _mm256_set1_ps(e.residual_scale)};
  }
  static void store(ivec sums, const Columns& k, const Bounds& b, const std::uint8_t* residual, int count, std::uint8_t* out) {
    __m256 y = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sums, k.offset)), k.scale, k.shift);
    if (residual) {
      std::uint64_t bytes = 0;
      std::memcpy(&bytes, residual, static_cast<std::size_t>(count));
      const __m256i r = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(bytes)));
      y = _mm256_fmadd_ps(_mm256_cvtepi32_ps(r), b.residual_scale, y);
    }
    y = _mm256_min_ps(_mm256_max_ps(y, b.lo), b.hi);
    const __m256i q = _mm256_cvtps_epi32(y);  // rounds to nearest even
    const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    const std::uint64_t packed = static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_packus_epi16(words, words)));
    if (count == 8)  // (a constant size: one 8-byte store)
      std::memcpy(out, &packed, 8);
    else
      std::memcpy(out, &packed, static_cast<std::size_t>(count));
  }
};

// Without AVX-VNNI: u8 x s8 products summed in pairs by vpmaddwd, even and odd bytes separately: exact.
struct Int8YmmPlain : Int8Ymm {
  struct BForm {
    __m256i even, odd;
  };
  struct AForm {
    __m256i even, odd;
  };
  static BForm b_form(const void* p) {
    const __m256i b = _mm256_loadu_si256(static_cast<const __m256i*>(p));
    return {_mm256_srai_epi16(_mm256_slli_epi16(b, 8), 8), _mm256_srai_epi16(b, 8)};
  }
  static AForm a_form(std::uint32_t four) {
    const __m256i a = _mm256_set1_epi32(static_cast<int>(four));
    return {_mm256_and_si256(a, _mm256_set1_epi16(0x00ff)), _mm256_srli_epi16(a, 8)};
  }
  static ivec dot(ivec acc, const AForm& a, const BForm& b) {
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(a.even, b.even), _mm256_madd_epi16(a.odd, b.odd)));
  }
};

namespace int8_plain {
using I = Int8YmmPlain;
#include "../int8_gemm_simd.inc"
}  // namespace int8_plain

// 3 rows x 1 panel (two vectors): 6 sums, 4 split B vectors, 2 split A vectors of the 16 registers.
inline void int8_gemm_plain(int m, int k, int n, const std::uint8_t* a, std::size_t lda, const std::int8_t* packed_b,
                            const Int8Requantize& e, std::uint8_t* c, std::size_t ldc) {
  int8_plain::int8_gemm_rows<3, 1>(m, k, n, a, lda, packed_b, e, c, ldc);
}

}  // namespace pfld::kernels::avx2

#include "target_end.inc"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,avxvnni"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma,avxvnni")
#endif

namespace pfld::kernels::avx2 {

struct Int8YmmVnni : Int8Ymm {
  using BForm = __m256i;
  using AForm = __m256i;
  static BForm b_form(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static AForm a_form(std::uint32_t four) { return _mm256_set1_epi32(static_cast<int>(four)); }
  static ivec dot(ivec acc, AForm a, BForm b) { return _mm256_dpbusd_avx_epi32(acc, a, b); }
};

namespace int8_vnni {
using I = Int8YmmVnni;
#include "../int8_gemm_simd.inc"
}  // namespace int8_vnni

// 6 rows x 1 panel (two vectors): 12 sums, 2 B vectors, one broadcast of A.
inline void int8_gemm_vnni(int m, int k, int n, const std::uint8_t* a, std::size_t lda, const std::int8_t* packed_b,
                           const Int8Requantize& e, std::uint8_t* c, std::size_t ldc) {
  int8_vnni::int8_gemm_rows<6, 1>(m, k, n, a, lda, packed_b, e, c, ldc);
}

}  // namespace pfld::kernels::avx2

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#endif
