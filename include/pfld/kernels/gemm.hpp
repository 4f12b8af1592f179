// Single-precision GEMM, C = A * B (+ C), blocked in the manner of BLIS/GotoBLAS: panels of B are packed
// into the layout the ISA's micro-kernel streams through; A is read in place when its rows are
// contiguous (activations, the common case) and packed otherwise. Tiles of C are spread over the thread
// pool. gemm_prepacked is the inference form: B packed once, a fused epilogue, no scratch.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../core/cpu.hpp"
#include "../core/scratch.hpp"
#include "../core/tensor.hpp"
#include "../core/thread_pool.hpp"
#include "dispatch.hpp"

namespace pfld::kernels {

// Element (i, j) of a matrix is data[i * row_stride + j * col_stride].
struct MatrixView {
  const float* data;
  std::ptrdiff_t row_stride;
  std::ptrdiff_t col_stride;
  float operator()(std::ptrdiff_t i, std::ptrdiff_t j) const { return data[i * row_stride + j * col_stride]; }
};

inline MatrixView row_major(const float* data, std::ptrdiff_t cols) { return {data, cols, 1}; }
inline MatrixView transposed(const float* data, std::ptrdiff_t cols) { return {data, 1, cols}; }

// The ISA's micro-kernel for a product n columns wide.
inline GemmKernel gemm_kernel_for(Isa isa, int n = 1 << 30) {
  const KernelTable& table = kernel_table(isa);
  return n <= 16 ? table.gemm_narrow : table.gemm;
}

namespace detail_gemm {

constexpr int kBlockK = 256;  // kc: one packed B panel column stays in L1 across a row of tiles
constexpr int kBlockM = 192;  // mc: a packed A block (mc x kc) stays in L2; fewer passes over B
constexpr std::size_t kPanelsInL1 = 32 * 1024;  // packed B this size or less: rows of tiles cross all panels

// Rows per block for an m-row product: at most kBlockM, a multiple of mr, and the blocks as even as
// that allows (196 rows in 6-row tiles make 102 + 94, not 192 + 4: a 4-row block would cost a whole
// extra pass over B for a few rows).
inline int row_block(int m, int mr) {
  const int most = std::max(mr, kBlockM / mr * mr);
  const int blocks = (m + most - 1) / most;
  const int even = (m + blocks - 1) / blocks;
  return (even + mr - 1) / mr * mr;
}

// B (kc x n) -> panels of NR columns, each kc rows of NR floats; columns past n are zero. For a
// k-pairs kernel (GemmKernel::k_pairs), each pair of rows interleaved, eight columns to a vector.
inline void pack_b(const MatrixView& b, int k0, int kc, int n, const GemmKernel& kernel, float* out, int first_panel,
                   int last_panel) {
  const int nr = kernel.nr, steps = packed_steps(kernel, kc);
  for (int p = first_panel; p < last_panel; ++p) {
    float* panel = out + static_cast<std::size_t>(p) * steps * nr;
    const int j0 = p * nr, width = std::min(nr, n - j0);
    if (kernel.k_pairs) {
      // Pair q, column j: at 2 q nr + (j / 8) 16 + (j % 8) 2, row 2 q + 1 just after row 2 q.
      std::fill(panel, panel + static_cast<std::size_t>(steps) * nr, 0.0f);
      for (int k = 0; k < kc; ++k)
        for (int j = 0; j < width; ++j)
          panel[static_cast<std::size_t>(k / 2) * 2 * nr + static_cast<std::size_t>(j / 8) * 16 + static_cast<std::size_t>(j % 8) * 2 +
                static_cast<std::size_t>(k % 2)] = b(k0 + k, j0 + j);
      continue;
    }
    if (width < nr) std::fill(panel, panel + static_cast<std::size_t>(kc) * nr, 0.0f);
    const float* src = b.data + static_cast<std::ptrdiff_t>(k0) * b.row_stride + static_cast<std::ptrdiff_t>(j0) * b.col_stride;
    if (b.col_stride == 1) {  // rows of B are contiguous: copy them
      for (int k = 0; k < kc; ++k) {  // (a plain loop: a memmove call per short row costs more than the row)
        const float* row = src + static_cast<std::ptrdiff_t>(k) * b.row_stride;
        for (int j = 0; j < width; ++j) panel[k * nr + j] = row[j];
      }
    } else {  // columns are: walk each column down
      for (int j = 0; j < width; ++j) {
        const float* col = src + static_cast<std::ptrdiff_t>(j) * b.col_stride;
        for (int k = 0; k < kc; ++k) panel[k * nr + j] = col[static_cast<std::ptrdiff_t>(k) * b.row_stride];
      }
    }
  }
}

// A rows [i0, i0 + mc) x columns [k0, k0 + kc) -> panels of MR rows, each kc steps of MR floats.
inline void pack_a(const MatrixView& a, int i0, int mc, int k0, int kc, int mr, float* out) {
  for (int p = 0; p * mr < mc; ++p) {
    float* panel = out + static_cast<std::size_t>(p) * kc * mr;
    const int height = std::min(mr, mc - p * mr);
    if (height < mr) std::fill(panel, panel + static_cast<std::size_t>(kc) * mr, 0.0f);
    const float* src =
        a.data + static_cast<std::ptrdiff_t>(i0 + p * mr) * a.row_stride + static_cast<std::ptrdiff_t>(k0) * a.col_stride;
    if (a.row_stride == 1) {  // columns of A are contiguous (a transposed operand): copy them
      for (int k = 0; k < kc; ++k) {
        const float* col = src + static_cast<std::ptrdiff_t>(k) * a.col_stride;
        for (int i = 0; i < height; ++i) panel[k * mr + i] = col[i];
      }
    } else {
      for (int i = 0; i < height; ++i) {
        const float* row = src + static_cast<std::ptrdiff_t>(i) * a.row_stride;
        for (int k = 0; k < kc; ++k) panel[k * mr + i] = row[static_cast<std::ptrdiff_t>(k) * a.col_stride];
      }
    }
  }
}

inline ScratchBuffer& scratch_a() {
  thread_local ScratchBuffer buffer;
  return buffer;
}
inline ScratchBuffer& scratch_b() {
  thread_local ScratchBuffer buffer;
  return buffer;
}

}  // namespace detail_gemm

// C (m x n, row stride ldc) = A (m x k) * B (k x n), plus the old C when accumulate. Uses `isa`'s
// micro-kernel and the pool's threads (none when pool is null).
inline void gemm(Isa isa, int m, int n, int k, const MatrixView& a, const MatrixView& b, float* c, std::size_t ldc,
                 bool accumulate, ThreadPool* pool = nullptr) {
  using namespace detail_gemm;
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (int i = 0; i < m; ++i) std::fill(c + static_cast<std::size_t>(i) * ldc, c + static_cast<std::size_t>(i) * ldc + n, 0.0f);
    return;
  }
  const GemmKernel kernel = gemm_kernel_for(isa, n);
  const int mr = kernel.mr, nr = kernel.nr;
  const int n_panels = (n + nr - 1) / nr;
  const int mc = detail_gemm::row_block(m, mr);
  const int m_blocks = (m + mc - 1) / mc;
  const int threads = pool ? pool->size() : 1;
  const bool direct_a = a.col_stride == 1;  // rows contiguous: the micro-kernel reads them in place
  // Few row blocks (a weight gradient: m = output channels) leave threads idle; split the columns too.
  const int n_splits = std::max(1, std::min(n_panels, (threads + m_blocks - 1) / m_blocks));
  float* packed_b = scratch_b().get(static_cast<std::size_t>(kBlockK) * n_panels * nr);
  // A pair kernel reads A in rows: a transposed A is copied into rows (mc x kc) instead of panels.
  const bool rows_a = !direct_a && kernel.k_pairs;

  for (int k0 = 0; k0 < k; k0 += kBlockK) {
    const int kc = std::min(kBlockK, k - k0);
    const bool add = accumulate || k0 > 0;
    auto pack_b_panels = [&](std::size_t lo, std::size_t hi) {
      pack_b(b, k0, kc, n, kernel, packed_b, static_cast<int>(lo), static_cast<int>(hi));
    };
    if (pool && n_panels > 1)
      pool->parallel_for(0, static_cast<std::size_t>(n_panels), pack_b_panels);
    else
      pack_b_panels(0, static_cast<std::size_t>(n_panels));

    auto run_tasks = [&](std::size_t lo, std::size_t hi) {
      float* packed_a = direct_a ? nullptr : scratch_a().get(static_cast<std::size_t>(mc) * kc);
      int packed_block = -1;
      for (std::size_t task = lo; task < hi; ++task) {
        const int block = static_cast<int>(task) / n_splits, split = static_cast<int>(task) % n_splits;
        const int i0 = block * mc, rows = std::min(mc, m - i0);
        if (!direct_a && block != packed_block) {
          if (rows_a)
            for (int i = 0; i < rows; ++i)
              for (int kk = 0; kk < kc; ++kk) packed_a[static_cast<std::size_t>(i) * kc + kk] = a(i0 + i, k0 + kk);
          else
            pack_a(a, i0, rows, k0, kc, mr, packed_a);
          packed_block = block;
        }
        const int p_lo = n_panels * split / n_splits, p_hi = n_panels * (split + 1) / n_splits;
        for (int p = p_lo; p < p_hi; ++p) {
          const int j0 = p * nr, cols = std::min(nr, n - j0);
          const float* b_panel = packed_b + static_cast<std::size_t>(p) * packed_steps(kernel, kc) * nr;
          for (int r = 0; r < rows; r += mr) {
            float* tile = c + static_cast<std::size_t>(i0 + r) * ldc + j0;
            if (direct_a)
              kernel.run(kc, a.data + (i0 + r) * a.row_stride + k0, a.row_stride, 1, b_panel, tile, ldc,
                         std::min(mr, rows - r), cols, add, nullptr);
            else if (rows_a)
              kernel.run(kc, packed_a + static_cast<std::size_t>(r) * kc, kc, 1, b_panel, tile, ldc,
                         std::min(mr, rows - r), cols, add, nullptr);
            else
              kernel.run(kc, packed_a + static_cast<std::size_t>(r) * kc, 1, mr, b_panel, tile, ldc,
                         std::min(mr, rows - r), cols, add, nullptr);
          }
        }
      }
    };
    const std::size_t tasks = static_cast<std::size_t>(m_blocks) * n_splits;
    if (pool)
      pool->parallel_for(0, tasks, run_tasks);
    else
      run_tasks(0, tasks);
  }
}

// B (k x n) packed once into the micro-kernel's panels, block by block of kBlockK rows: the weights of
// an inference layer.
class PackedMatrix {
 public:
  PackedMatrix() = default;
  PackedMatrix(Isa isa, int k, int n, const MatrixView& b) : kernel_(gemm_kernel_for(isa, n)), k_(k), n_(n) {
    detail::require(k > 0 && n > 0, "PackedMatrix: empty ", k, " x ", n, " matrix");
    const std::size_t panels = static_cast<std::size_t>(panel_count());
    storage_ = Tensor(Shape{static_cast<int>(panels * static_cast<std::size_t>(packed_steps(kernel_, k)) *
                                             static_cast<std::size_t>(kernel_.nr))});
    for (int k0 = 0; k0 < k; k0 += detail_gemm::kBlockK)
      detail_gemm::pack_b(b, k0, std::min(detail_gemm::kBlockK, k - k0), n, kernel_, block(k0), 0, panel_count());
  }

  int rows() const { return k_; }
  int cols() const { return n_; }
  const GemmKernel& kernel() const { return kernel_; }
  int panel_count() const { return (n_ + kernel_.nr - 1) / kernel_.nr; }
  // The packed panels of rows [k0, k0 + kBlockK).
  const float* block(int k0) const { return storage_.data() + static_cast<std::size_t>(k0) * panel_count() * kernel_.nr; }
  // The tensor holding the panels, for moving them elsewhere (gather_onto_huge_pages).
  Tensor& storage() { return storage_; }

 private:
  float* block(int k0) { return storage_.data() + static_cast<std::size_t>(k0) * panel_count() * kernel_.nr; }

  GemmKernel kernel_{};
  int k_ = 0, n_ = 0;
  Tensor storage_;
};

// C (m x b.cols(), row stride ldc) = epilogue(A (m x b.rows(), rows at stride lda) * B): no packing, no
// scratch, no allocation. Row blocks go to the pool's threads when one is given.
// How far behind its reads a gemm_prepacked call of m rows writes: once it stores C's row i, it reads no
// row of A below i - gemm_rows_in_flight + 1 again. So C may start that many rows before A, over it (the
// single-thread call; each row block of A is read whole before its rows of C are stored).
inline int gemm_rows_in_flight(int m, const PackedMatrix& b) { return detail_gemm::row_block(m, b.kernel().mr); }

inline void gemm_prepacked(int m, const float* a, std::size_t lda, const PackedMatrix& b, float* c, std::size_t ldc,
                           const GemmEpilogue& epilogue, ThreadPool* pool = nullptr) {
  using detail_gemm::kBlockK;
  const GemmKernel& kernel = b.kernel();
  const int mr = kernel.mr, nr = kernel.nr, k = b.rows(), n = b.cols(), n_panels = b.panel_count();
  const int mc = detail_gemm::row_block(m, mr);
  const int m_blocks = (m + mc - 1) / mc;
  auto run_blocks = [&](std::size_t lo, std::size_t hi) {
    for (std::size_t block = lo; block < hi; ++block) {
      const int i0 = static_cast<int>(block) * mc, rows = std::min(mc, m - i0);
      for (int k0 = 0; k0 < k; k0 += kBlockK) {
        const int kc = std::min(kBlockK, k - k0);
        const bool last = k0 + kBlockK >= k;
        auto tile = [&](int p, int r) {
          const int j0 = p * nr, cols = std::min(nr, n - j0);
          const float* b_panel = b.block(k0) + static_cast<std::size_t>(p) * packed_steps(kernel, kc) * nr;
          const std::size_t i = static_cast<std::size_t>(i0 + r);
          GemmEpilogue tile_epilogue = epilogue;
          if (epilogue.bias) tile_epilogue.bias += j0;
          if (epilogue.residual) tile_epilogue.residual += i * epilogue.residual_stride + static_cast<std::size_t>(j0);
          kernel.run(kc, a + i * lda + static_cast<std::size_t>(k0), static_cast<std::ptrdiff_t>(lda), 1, b_panel,
                     c + i * ldc + static_cast<std::size_t>(j0), ldc, std::min(mr, rows - r), cols, k0 > 0,
                     last ? &tile_epilogue : nullptr);
        };
        // When all of this block of B fits in L1 with room to spare, a row of tiles runs across every
        // panel: its rows of A are read from L2 once instead of once per panel.
        if (n_panels == 1 && kernel.all_rows) {  // one call for the block (see GemmKernel::all_rows)
          GemmEpilogue block_epilogue = epilogue;
          if (epilogue.residual) block_epilogue.residual += static_cast<std::size_t>(i0) * epilogue.residual_stride;
          kernel.all_rows(kc, a + static_cast<std::size_t>(i0) * lda + static_cast<std::size_t>(k0),
                          static_cast<std::ptrdiff_t>(lda), 1, b.block(k0), c + static_cast<std::size_t>(i0) * ldc, ldc,
                          rows, n, k0 > 0, last ? &block_epilogue : nullptr);
        } else if (static_cast<std::size_t>(kc) * n_panels * nr * sizeof(float) <= detail_gemm::kPanelsInL1) {
          for (int r = 0; r < rows; r += mr)
            for (int p = 0; p < n_panels; ++p) tile(p, r);
        } else {
          for (int p = 0; p < n_panels; ++p)
            for (int r = 0; r < rows; r += mr) tile(p, r);
        }
      }
    }
  };
  if (pool && m_blocks > 1)
    pool->parallel_for(0, static_cast<std::size_t>(m_blocks), run_blocks);
  else
    run_blocks(0, static_cast<std::size_t>(m_blocks));
}

}  // namespace pfld::kernels
