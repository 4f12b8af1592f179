// AVX-512 GEMM micro-kernels: 14x32 tiles for wide products, 14x16 tiles over pairs of k for narrow
// ones. Masked loads and stores take the edge columns.
#pragma once

#include "../../core/cpu.hpp"
#include "../gemm_kernel.hpp"

#if defined(PFLD_COMPILE_AVX512)
#include <immintrin.h>

#include <cstring>

namespace pfld::kernels::avx512 {

namespace detail {

// The inner functions of the kernels: AVX-512 code, always inlined into the kernel that calls them.
#define PFLD_AVX512_INLINE __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"), always_inline))

// The epilogue of a tile NV vectors wide (masks for its edge columns, bias, clamp bounds) and the store
// of one finished row through it. The bias is where the accumulators start, not an add per row, and
// only the bounds that clamp are applied: the epilogue's vector operations compete with the FMAs for the
// same two ports, and a 14x32 tile over k = 64 is under 900 cycles of FMAs.
template <int NV>
struct TileEpilogue {
  __mmask16 mask[NV];
  __m512 bias[NV];
  __m512 min_v, max_v;
  bool clamp_lo = false, clamp_hi = false;

  PFLD_AVX512_INLINE TileEpilogue(int nr, const GemmEpilogue* epilogue)
      : min_v(_mm512_setzero_ps()), max_v(_mm512_setzero_ps()) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const int cols = nr - 16 * v;
      mask[v] = static_cast<__mmask16>(cols >= 16 ? 0xffff : cols <= 0 ? 0 : (1u << cols) - 1);
      bias[v] = epilogue && epilogue->bias ? _mm512_maskz_loadu_ps(mask[v], epilogue->bias + 16 * v)
                                           : _mm512_setzero_ps();
    }
    if (!epilogue) return;
    min_v = _mm512_set1_ps(epilogue->lo);
    max_v = _mm512_set1_ps(epilogue->hi);
    clamp_lo = epilogue->clamps_below();
    clamp_hi = epilogue->clamps_above();
  }

  // Stores a row whose accumulators started from `bias`.
  PFLD_AVX512_INLINE void store(const __m512 (&sums)[NV], float* ci, const float* residual, bool accumulate,
                                const GemmEpilogue* epilogue) const {
    // A copy, not writes through the caller's accumulators: those kept the 14x32 tile's accumulators
    // in memory (1.4x the code, twice the stack traffic).
    __m512 row[NV];
    for (int v = 0; v < NV; ++v) row[v] = sums[v];
    if (accumulate)
      for (int v = 0; v < NV; ++v) row[v] = _mm512_add_ps(row[v], _mm512_maskz_loadu_ps(mask[v], ci + 16 * v));
    if (epilogue) {
      if (residual)
        for (int v = 0; v < NV; ++v) row[v] = _mm512_add_ps(row[v], _mm512_maskz_loadu_ps(mask[v], residual + 16 * v));
      // (maskz forms: GCC 12 flags the plain ones' undefined pass-through as maybe-uninitialized)
      if (clamp_lo)
        for (int v = 0; v < NV; ++v) row[v] = _mm512_maskz_max_ps(0xffff, row[v], min_v);
      if (clamp_hi)
        for (int v = 0; v < NV; ++v) row[v] = _mm512_maskz_min_ps(0xffff, row[v], max_v);
    }
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(ci + 16 * v, mask[v], row[v]);
  }
};

// acc += A (MR rows) * B (kc x 16 NV) for a full tile. Only every third row has a pointer register: the
// next two are one and two row strides on, which x86 addressing adds for free (base + stride * 2), so
// 14 rows take 5 pointers and the loop keeps every pointer in a register (a pointer per row spilled
// to the stack, and its reloads cost issue slots beside the FMAs).
template <int MR, int NV>
PFLD_AVX512_INLINE inline void accumulate_full(int kc, const float* a, std::ptrdiff_t a_row_stride,
                                               std::ptrdiff_t a_k_stride, const float* b, __m512 (&acc)[MR][NV]) {
  constexpr int kGroups = (MR + 2) / 3;
  const std::ptrdiff_t row_bytes = a_row_stride * static_cast<std::ptrdiff_t>(sizeof(float));
  const std::ptrdiff_t k_bytes = a_k_stride * static_cast<std::ptrdiff_t>(sizeof(float));
  const char* group[kGroups];
#pragma GCC unroll 8
  for (int g = 0; g < kGroups; ++g) group[g] = reinterpret_cast<const char*>(a + 3 * g * a_row_stride);
  for (int k = 0; k < kc; ++k, b += 16 * NV) {
    __m512 bk[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bk[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(*reinterpret_cast<const float*>(group[i / 3] + (i % 3) * row_bytes));
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bk[v], acc[i][v]);
    }
#pragma GCC unroll 8
    for (int g = 0; g < kGroups; ++g) group[g] += k_bytes;
  }
}

// The same for an edge tile of mr < MR rows: rows past mr repeat row 0 (computed, never stored, never
// read out of bounds).
template <int MR, int NV>
PFLD_AVX512_INLINE inline void accumulate_edge(int kc, const float* a, std::ptrdiff_t a_row_stride,
                                               std::ptrdiff_t a_k_stride, const float* b, int mr, __m512 (&acc)[MR][NV]) {
  const float* rows[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) rows[i] = a + (i < mr ? i * a_row_stride : 0);
  std::ptrdiff_t at = 0;
  for (int k = 0; k < kc; ++k, at += a_k_stride, b += 16 * NV) {
    __m512 bk[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bk[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(rows[i][at]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bk[v], acc[i][v]);
    }
  }
}

// An MR x 16 NV tile in NV * MR accumulators: per k, NV vectors of B and MR broadcasts of A feed
// NV * MR FMAs. `e` is the tile's epilogue, set up by the caller.
template <int MR, int NV>
PFLD_AVX512_INLINE inline void gemm_tile(const TileEpilogue<NV>& e, int kc, const float* a, std::ptrdiff_t a_row_stride,
                                         std::ptrdiff_t a_k_stride, const float* b, float* c, std::size_t ldc, int mr,
                                         bool accumulate, const GemmEpilogue* epilogue) {
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = e.bias[v];
  if (mr == MR)
    accumulate_full<MR, NV>(kc, a, a_row_stride, a_k_stride, b, acc);
  else
    accumulate_edge<MR, NV>(kc, a, a_row_stride, a_k_stride, b, mr, acc);
  const float* residual = epilogue ? epilogue->residual : nullptr;
  const std::size_t residual_stride = epilogue ? epilogue->residual_stride : 0;
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
    if (i < mr)
      e.store(acc[i], c + static_cast<std::size_t>(i) * ldc,
              residual ? residual + static_cast<std::size_t>(i) * residual_stride : nullptr, accumulate, epilogue);
}

template <int MR, int NV>
PFLD_AVX512_INLINE inline void gemm_rows(int kc, const float* a, std::ptrdiff_t a_row_stride, std::ptrdiff_t a_k_stride,
                                         const float* b, float* c, std::size_t ldc, int mr, int nr, bool accumulate,
                                         const GemmEpilogue* epilogue) {
  gemm_tile<MR, NV>(TileEpilogue<NV>(nr, epilogue), kc, a, a_row_stride, a_k_stride, b, c, ldc, mr, accumulate, epilogue);
}

// A tile function: gemm_tile or pair_tile.
template <int NV>
using TileFunction = void (*)(const TileEpilogue<NV>&, int, const float*, std::ptrdiff_t, std::ptrdiff_t, const float*,
                              float*, std::size_t, int, bool, const GemmEpilogue*);

// Any number of rows against one panel of B: the full MR-row tiles loop here through `Tile` with the
// epilogue (masks, bias, bounds) set up once, the rest goes to `edge` (the kernel's own entry for a
// short tile). A tile over a short k (16 x 16 x 16: 256 FMAs) is not much longer than a call and an
// epilogue set-up.
template <int MR, int NV, TileFunction<NV> Tile, class Edge>
PFLD_AVX512_INLINE inline void gemm_all_rows(int kc, const float* a, std::ptrdiff_t a_row_stride,
                                             std::ptrdiff_t a_k_stride, const float* b, float* c, std::size_t ldc,
                                             int m, int nr, bool accumulate, const GemmEpilogue* epilogue, Edge edge) {
  const TileEpilogue<NV> e(nr, epilogue);
  GemmEpilogue shifted = epilogue ? *epilogue : GemmEpilogue{};
  int i = 0;
  for (; i + MR <= m; i += MR) {
    if (epilogue && epilogue->residual) shifted.residual = epilogue->residual + static_cast<std::size_t>(i) * epilogue->residual_stride;
    Tile(e, kc, a + i * a_row_stride, a_row_stride, a_k_stride, b, c + static_cast<std::size_t>(i) * ldc, ldc, MR,
         accumulate, epilogue ? &shifted : nullptr);
  }
  if (i == m) return;
  if (epilogue && epilogue->residual) shifted.residual = epilogue->residual + static_cast<std::size_t>(i) * epilogue->residual_stride;
  edge(kc, a + i * a_row_stride, a_row_stride, a_k_stride, b, c + static_cast<std::size_t>(i) * ldc, ldc, m - i, nr,
       accumulate, epilogue ? &shifted : nullptr);
}

// One row of C: the matrix-vector products of a single face (conv8's 7x7 convolution to 1x1, the fc
// layer), where a 6-row tile would compute five rows for nothing. With one row there is no reuse of B
// to exploit, so the loop streams it: four k phases in separate accumulators (four independent FMA
// chains per vector), two loads per two FMAs.
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) inline void gemm_row_x32(
    int kc, const float* a, std::ptrdiff_t a_k_stride, const float* b, float* c, int nr, bool accumulate,
    const GemmEpilogue* epilogue) {
  const TileEpilogue<2> e(nr, epilogue);
  __m512 acc[4][2];
#pragma GCC unroll 4
  for (int u = 0; u < 4; ++u) acc[u][0] = acc[u][1] = _mm512_setzero_ps();
  acc[0][0] = e.bias[0];
  acc[0][1] = e.bias[1];
  int k = 0;
  for (; k + 4 <= kc; k += 4, b += 4 * 32) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const __m512 ai = _mm512_set1_ps(a[(k + u) * a_k_stride]);
      acc[u][0] = _mm512_fmadd_ps(ai, _mm512_load_ps(b + 32 * u), acc[u][0]);
      acc[u][1] = _mm512_fmadd_ps(ai, _mm512_load_ps(b + 32 * u + 16), acc[u][1]);
    }
  }
  for (; k < kc; ++k, b += 32) {
    const __m512 ai = _mm512_set1_ps(a[k * a_k_stride]);
    acc[0][0] = _mm512_fmadd_ps(ai, _mm512_load_ps(b), acc[0][0]);
    acc[0][1] = _mm512_fmadd_ps(ai, _mm512_load_ps(b + 16), acc[0][1]);
  }
  __m512 sum[2];
#pragma GCC unroll 2
  for (int v = 0; v < 2; ++v) sum[v] = _mm512_add_ps(_mm512_add_ps(acc[0][v], acc[1][v]), _mm512_add_ps(acc[2][v], acc[3][v]));
  e.store(sum, c, epilogue ? epilogue->residual : nullptr, accumulate, epilogue);
}

// The k-pairs form of an MR x 16 tile (GemmKernel::k_pairs), for products 16 columns wide or less:
// a 16x16 tile spends one broadcast per FMA, and this core issues broadcast-fed FMAs at about 70 % of
// its FMA rate. Here one 64-bit broadcast (A[i][k], A[i][k + 1]) feeds two FMAs, as in the 14x32 tile:
// acc[i][h] holds columns 8h..8h+7 as lane pairs (even-k sum, odd-k sum), added together at the store.
template <int MR>
struct PairTile {
  __m512 acc[MR][2];

  // Starts every row from the bias (in the even lanes: added once).
  PFLD_AVX512_INLINE explicit PairTile(__m512 bias) {
    const __m512 lo = _mm512_permutex2var_ps(bias, spread(0), _mm512_setzero_ps());
    const __m512 hi = _mm512_permutex2var_ps(bias, spread(8), _mm512_setzero_ps());
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) acc[i][0] = lo, acc[i][1] = hi;
  }

  // A permutex2var index: lane 2 j takes column first + j of the first operand, lane 2 j + 1 index 16
  // (the second operand's first lane: a zero).
  PFLD_AVX512_INLINE static __m512i spread(int first) {
    return _mm512_setr_epi32(first, 16, first + 1, 16, first + 2, 16, first + 3, 16, first + 4, 16, first + 5, 16,
                             first + 6, 16, first + 7, 16);
  }

  // row(i) (i < MR): a pointer to row i of A; kc steps against the packed pair panel b.
  template <class Row>
  PFLD_AVX512_INLINE void accumulate(int kc, Row row, const float* b) {
    int k = 0;
    for (; k + 2 <= kc; k += 2, b += 32) {
      const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        double pair;  // (A[i][k], A[i][k + 1]) as one 64-bit value
        std::memcpy(&pair, row(i) + k, sizeof pair);
        const __m512 ai = _mm512_castpd_ps(_mm512_set1_pd(pair));
        acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
      }
    }
    if (k == kc) return;
    // An odd last step: A[i][k + 1] is not there to read, and its lanes must not change (0 * inf).
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(row(i)[k]);
      acc[i][0] = _mm512_mask3_fmadd_ps(ai, b0, acc[i][0], 0x5555);
      acc[i][1] = _mm512_mask3_fmadd_ps(ai, b1, acc[i][1], 0x5555);
    }
  }

  // Row i's 16 sums: the even lanes plus the odd lanes.
  PFLD_AVX512_INLINE __m512 sums(int i) const {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_add_ps(_mm512_permutex2var_ps(acc[i][0], even, acc[i][1]),
                         _mm512_permutex2var_ps(acc[i][0], odd, acc[i][1]));
  }
};

// An MR-row pair tile (mr <= MR rows stored; rows past mr repeat row 0, computed and never stored).
// Full tiles address their rows as three strides from every third row's pointer (accumulate_full).
template <int MR>
PFLD_AVX512_INLINE inline void pair_tile(const TileEpilogue<1>& e, int kc, const float* a, std::ptrdiff_t a_row_stride,
                                         std::ptrdiff_t /*a_k_stride: 1*/, const float* b, float* c, std::size_t ldc,
                                         int mr, bool accumulate, const GemmEpilogue* epilogue) {
  PairTile<MR> t(e.bias[0]);
  if (mr == MR) {
    constexpr int kGroups = (MR + 2) / 3;
    const float* group[kGroups];
#pragma GCC unroll 8
    for (int g = 0; g < kGroups; ++g) group[g] = a + 3 * g * a_row_stride;
    t.accumulate(kc, [&](int i) { return group[i / 3] + (i % 3) * a_row_stride; }, b);
  } else {
    t.accumulate(kc, [&](int i) { return a + (i < mr ? i * a_row_stride : 0); }, b);
  }
  const float* residual = epilogue ? epilogue->residual : nullptr;
  const std::size_t residual_stride = epilogue ? epilogue->residual_stride : 0;
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
    if (i < mr) {
      const __m512 row[1] = {t.sums(i)};
      e.store(row, c + static_cast<std::size_t>(i) * ldc, residual ? residual + static_cast<std::size_t>(i) * residual_stride : nullptr,
              accumulate, epilogue);
    }
}

}  // namespace detail

// The wide kernel: a 14x32 tile, 28 of the 32 zmm registers as accumulators (two B loads and fourteen
// broadcasts per 28 FMAs). Fourteen rows because every PFLD feature map is a multiple of 14 pixels
// (3136, 784 and 196 rows), so no layer but conv7 (49 rows) has an edge tile (12 rows were as fast per
// tile but leave 4-row edge tiles, slower over the whole 1X network). Edge tiles of 7 rows or fewer
// take a 7x32 tile; a single row, the row kernel.
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) inline void gemm_14x32(
    int kc, const float* a, std::ptrdiff_t a_row_stride, std::ptrdiff_t a_k_stride, const float* b, float* c,
    std::size_t ldc, int mr, int nr, bool accumulate, const GemmEpilogue* epilogue) {
  if (mr > 7)
    detail::gemm_rows<14, 2>(kc, a, a_row_stride, a_k_stride, b, c, ldc, mr, nr, accumulate, epilogue);
  else if (mr == 1)
    detail::gemm_row_x32(kc, a, a_k_stride, b, c, nr, accumulate, epilogue);
  else
    detail::gemm_rows<7, 2>(kc, a, a_row_stride, a_k_stride, b, c, ldc, mr, nr, accumulate, epilogue);
}

// For matrices 16 columns wide or less (the thin layers of narrow networks, a face detector's first
// layers and heads), where half of the 14x32 tile would be masked off: a 14x16 tile taking k in pairs
// (detail::PairTile; A in rows, a_k_stride 1), edge tiles of 7 rows or fewer a 7x16 one.
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) inline void gemm_14x16_pairs(
    int kc, const float* a, std::ptrdiff_t a_row_stride, std::ptrdiff_t /*a_k_stride: 1*/, const float* b, float* c,
    std::size_t ldc, int mr, int nr, bool accumulate, const GemmEpilogue* epilogue) {
  const detail::TileEpilogue<1> e(nr, epilogue);
  if (mr > 7)
    detail::pair_tile<14>(e, kc, a, a_row_stride, 1, b, c, ldc, mr, accumulate, epilogue);
  else
    detail::pair_tile<7>(e, kc, a, a_row_stride, 1, b, c, ldc, mr, accumulate, epilogue);
}

// The two kernels over any number of rows (GemmKernel::all_rows).
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) inline void gemm_14x32_rows(
    int kc, const float* a, std::ptrdiff_t a_row_stride, std::ptrdiff_t a_k_stride, const float* b, float* c,
    std::size_t ldc, int m, int nr, bool accumulate, const GemmEpilogue* epilogue) {
  detail::gemm_all_rows<14, 2, detail::gemm_tile<14, 2>>(kc, a, a_row_stride, a_k_stride, b, c, ldc, m, nr, accumulate,
                                                         epilogue, gemm_14x32);
}
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) inline void gemm_14x16_pairs_rows(
    int kc, const float* a, std::ptrdiff_t a_row_stride, std::ptrdiff_t a_k_stride, const float* b, float* c,
    std::size_t ldc, int m, int nr, bool accumulate, const GemmEpilogue* epilogue) {
  detail::gemm_all_rows<14, 1, detail::pair_tile<14>>(kc, a, a_row_stride, a_k_stride, b, c, ldc, m, nr, accumulate,
                                                      epilogue, gemm_14x16_pairs);
}

inline GemmKernel gemm_kernel() { return {14, 32, gemm_14x32, "avx512 14x32", gemm_14x32_rows}; }
inline GemmKernel gemm_kernel_narrow() {
  return {14, 16, gemm_14x16_pairs, "avx512 14x16 k-pairs", gemm_14x16_pairs_rows, /*k_pairs=*/true};
}

#undef PFLD_AVX512_INLINE

}  // namespace pfld::kernels::avx512
#endif
