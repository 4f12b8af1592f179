// Batch normalisation for the training path, over the rows of an (M, C) matrix (NHWC, M = N * H * W),
// spread over the thread pool, with an optional activation fused in: the forward writes
// act(BN(x)) in one pass, and the backward masks the incoming gradient with act's slope, read from that
// same output (for ReLU and ReLU6 the output tells where the input was clamped).
//
// Statistics: each block of rows is summed in float (vectorised), blocks are combined in double with the
// parallel-variance formula, so accuracy does not depend on M. The passes over the rows are the ISA's
// (batch_norm_simd.inc): the library is compiled for baseline x86-64, where the compiler's own
// vectorisation of these loops stops at SSE2.
//
// Synchronised over replicas (a data-parallel run, core/replica_group.hpp): given a group, the forward
// normalises with the statistics of every replica's rows and the backward's mean terms take every
// replica's sums, so N replicas of B rows compute what one would over the N x B rows. The parameter
// gradients stay each replica's own sums: the run averages them with the other gradients.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "../core/cpu.hpp"
#include "../core/replica_group.hpp"
#include "../core/thread_pool.hpp"
#include "activation.hpp"
#include "dispatch.hpp"

namespace pfld::kernels {

// The per-call working memory of the training passes (block statistics, per-channel sums and
// coefficients), kept by the caller so a training step does not allocate. Grows to the largest layer
// and stays. Not shared between threads: one per layer, as nn::BatchNorm keeps it.
struct BatchNormScratch {
  std::vector<float> blocks;    // two per block and channel
  std::vector<double> sums;     // per channel: the statistics or gradient sums (and the replicas' row count)
  std::vector<float> channels;  // per channel: the normalisation's or the backward's coefficients
};

namespace detail_bn {

constexpr std::size_t kRowBlock = 256;

inline void run(ThreadPool* pool, std::size_t count, const std::function<void(std::size_t, std::size_t)>& body) {
  if (pool)
    pool->parallel_for(0, count, body);
  else
    body(0, count);
}


// y = act(x * scale + shift) per channel, in blocks of rows over the pool.
inline void normalize(Isa isa, std::size_t rows, std::size_t C, const float* x, const float* scale, const float* shift,
                      Activation act, float* y, ThreadPool* pool) {
  const Clamp clamp = clamp_of(act);
  const std::size_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  run(pool, blocks, [&](std::size_t b_lo, std::size_t b_hi) {
    kernel_table(isa).batch_norm_normalize_rows(x, C, scale, shift, clamp.lo, clamp.hi, y, b_lo * kRowBlock,
                     std::min(rows, b_hi * kRowBlock));
  });
}

}  // namespace detail_bn

// Training forward. mean, var (biased) and inv_std receive the batch statistics (over every replica's
// rows when `replicas` is given). Returns the rows they are over.
inline std::size_t batch_norm_train_forward(Isa isa, std::size_t rows, int channels, const float* x, const float* gamma,
                                            const float* beta, float eps, Activation act, float* y, float* mean,
                                            float* var, float* inv_std, BatchNormScratch& scratch,
                                            ThreadPool* pool, ReplicaGroup* replicas = nullptr) {
  using namespace detail_bn;
  require_training_kernels(isa);  // (an Error in a build without them, before any thread runs one)
  const std::size_t C = static_cast<std::size_t>(channels);
  const std::size_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  scratch.blocks.resize(2 * blocks * C);
  float* const block_mean = scratch.blocks.data();
  float* const block_m2 = block_mean + blocks * C;
  run(pool, blocks, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t b = lo; b < hi; ++b)
      kernel_table(isa).batch_norm_block_stats(x, C, b * kRowBlock, std::min(rows, (b + 1) * kRowBlock),
                       block_mean + b * C, block_m2 + b * C);
  });
  // Per channel: this replica's mean and sum of squared deviations, combined over blocks in double;
  // kept as the sums every replica's combine (n * mean, m2 + n * mean^2), then as mean and m2.
  scratch.sums.resize(2 * C + 1);
  double* const local_mean = scratch.sums.data();
  double* const local_m2 = local_mean + C;
  for (std::size_t c = 0; c < C; ++c) {
    double total_mean = 0.0;
    for (std::size_t b = 0; b < blocks; ++b) {
      const double n = static_cast<double>(std::min(rows, (b + 1) * kRowBlock) - b * kRowBlock);
      total_mean += n * block_mean[b * C + c];
    }
    total_mean /= static_cast<double>(rows);
    double m2 = 0.0;
    for (std::size_t b = 0; b < blocks; ++b) {
      const double n = static_cast<double>(std::min(rows, (b + 1) * kRowBlock) - b * kRowBlock);
      const double d = block_mean[b * C + c] - total_mean;
      m2 += block_m2[b * C + c] + n * d * d;
    }
    local_mean[c] = total_mean;
    local_m2[c] = m2;
  }
  double total_rows = static_cast<double>(rows);
  if (replicas) {
    // The same combination across replicas: sums of n * mean and of m2 + n * mean^2, and of n.
    for (std::size_t c = 0; c < C; ++c) {
      local_m2[c] += total_rows * local_mean[c] * local_mean[c];
      local_mean[c] *= total_rows;
    }
    scratch.sums[2 * C] = total_rows;
    replicas->sum(scratch.sums.data(), scratch.sums.size());
    total_rows = scratch.sums[2 * C];
    for (std::size_t c = 0; c < C; ++c) {
      local_mean[c] /= total_rows;
      local_m2[c] = std::max(0.0, local_m2[c] - total_rows * local_mean[c] * local_mean[c]);
    }
  }
  scratch.channels.resize(2 * C);
  float* const scale = scratch.channels.data();
  float* const shift = scale + C;
  for (std::size_t c = 0; c < C; ++c) {
    const double v = local_m2[c] / total_rows;
    mean[c] = static_cast<float>(local_mean[c]);
    var[c] = static_cast<float>(v);
    inv_std[c] = static_cast<float>(1.0 / std::sqrt(v + eps));
    scale[c] = gamma[c] * inv_std[c];
    shift[c] = beta[c] - mean[c] * scale[c];
  }
  detail_bn::normalize(isa, rows, C, x, scale, shift, act, y, pool);
  return static_cast<std::size_t>(total_rows);
}

// Eval forward: y = act(gamma * (x - running_mean) / sqrt(running_var + eps) + beta).
inline void batch_norm_eval_forward(Isa isa, std::size_t rows, int channels, const float* x, const float* gamma,
                                    const float* beta, const float* running_mean, const float* running_var, float eps,
                                    Activation act, float* y, BatchNormScratch& scratch, ThreadPool* pool) {
  require_training_kernels(isa);
  const std::size_t C = static_cast<std::size_t>(channels);
  scratch.channels.resize(2 * C);
  float* const scale = scratch.channels.data();
  float* const shift = scale + C;
  for (std::size_t c = 0; c < C; ++c) {
    scale[c] = gamma[c] / std::sqrt(running_var[c] + eps);
    shift[c] = beta[c] - running_mean[c] * scale[c];
  }
  detail_bn::normalize(isa, rows, C, x, scale, shift, act, y, pool);
}

namespace detail_bn {

// g = dy masked by the activation's slope, read from the output y: passed where the activation was not
// clamped (strictly inside (lo, hi), as PyTorch does); not masked at all for the identity.
template <bool Masked>
void backward(Isa isa, std::size_t rows, std::size_t C, const float* x, const float* y, const float* dy,
              const float* gamma, const float* mean, const float* inv_std, float lo, float hi, float* dx, float* dgamma,
              float* dbeta, BatchNormScratch& scratch, ThreadPool* pool, ReplicaGroup* replicas,
              std::size_t total_rows) {
  const std::size_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  scratch.blocks.resize(2 * blocks * C);
  float* const block_g = scratch.blocks.data();
  float* const block_gx = block_g + blocks * C;
  run(pool, blocks, [&](std::size_t b_lo, std::size_t b_hi) {
    for (std::size_t b = b_lo; b < b_hi; ++b)
      kernel_table(isa).batch_norm_backward_sums[Masked](x, y, dy, C, mean, lo, hi, b * kRowBlock,
                       std::min(rows, (b + 1) * kRowBlock), block_g + b * C, block_gx + b * C);
  });
  scratch.sums.resize(2 * C);
  double* const sums = scratch.sums.data();  // per channel: sum(g), sum(g * xhat)
  for (std::size_t c = 0; c < C; ++c) {
    double sg = 0.0, sgx = 0.0;
    for (std::size_t b = 0; b < blocks; ++b) sg += block_g[b * C + c], sgx += block_gx[b * C + c];
    sums[c] = sg;
    sums[C + c] = sgx * inv_std[c];
    dgamma[c] += static_cast<float>(sums[C + c]);
    dbeta[c] += static_cast<float>(sg);
  }
  if (replicas) replicas->sum(sums, 2 * C);
  scratch.channels.resize(3 * C);
  float* const k1 = scratch.channels.data();
  float* const k2 = k1 + C;
  float* const k3 = k2 + C;
  for (std::size_t c = 0; c < C; ++c) {
    const double sg = sums[c], sgx = sums[C + c];
    // dx = a g - a mean(g) - a xhat mean(g xhat), xhat = (x - mean) inv_std, a = gamma inv_std
    const double a = static_cast<double>(gamma[c]) * inv_std[c], n = static_cast<double>(replicas ? total_rows : rows);
    k1[c] = static_cast<float>(a);
    k2[c] = static_cast<float>(a * sg / n - a * sgx / n * inv_std[c] * mean[c]);
    k3[c] = static_cast<float>(a * sgx / n * inv_std[c]);
  }
  run(pool, blocks, [&](std::size_t b_lo, std::size_t b_hi) {
    kernel_table(isa).batch_norm_backward_dx[Masked](x, y, dy, C, k1, k2, k3, lo, hi,
                     b_lo * kRowBlock, std::min(rows, b_hi * kRowBlock), dx);
  });
}


}  // namespace detail_bn

// Training backward, given the forward's output y (for the activation's mask) and statistics.
// dx = gamma * inv_std * (g - mean(g) - xhat * mean(g * xhat)), g = dy * act'(y);
// dgamma += sum(g * xhat), dbeta += sum(g) over this replica's rows. With `replicas`, the means are over
// every replica's `total_rows` (what the forward returned).
inline void batch_norm_train_backward(Isa isa, std::size_t rows, int channels, const float* x, const float* y,
                                      const float* dy, const float* gamma, const float* mean, const float* inv_std,
                                      Activation act, float* dx, float* dgamma, float* dbeta,
                                      BatchNormScratch& scratch, ThreadPool* pool, ReplicaGroup* replicas = nullptr,
                                      std::size_t total_rows = 0) {
  require_training_kernels(isa);
  const std::size_t C = static_cast<std::size_t>(channels);
  const Clamp clamp = clamp_of(act);
  if (act == Activation::identity)
    detail_bn::backward<false>(isa, rows, C, x, y, dy, gamma, mean, inv_std, clamp.lo, clamp.hi, dx, dgamma, dbeta,
                               scratch, pool, replicas, total_rows);
  else
    detail_bn::backward<true>(isa, rows, C, x, y, dy, gamma, mean, inv_std, clamp.lo, clamp.hi, dx, dgamma, dbeta,
                              scratch, pool, replicas, total_rows);
}

}  // namespace pfld::kernels
