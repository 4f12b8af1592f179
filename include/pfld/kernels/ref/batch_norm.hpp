// Scalar reference batch normalisation over the rows of an (M, C) matrix: an NHWC tensor with
// M = N * H * W. Statistics are accumulated in double so that the oracle is not the weak link.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

namespace pfld::kernels::ref {

// Training mode: normalise with the batch statistics, which are returned in mean and inv_std
// (1 / sqrt(biased variance + eps)) for the backward pass and the running averages. The biased
// variance is returned in var.
inline void batch_norm_forward_train(std::size_t rows, int channels, const float* x, const float* gamma,
                                     const float* beta, float eps, float* y, float* mean, float* var,
                                     float* inv_std) {
  std::vector<double> sum(channels, 0.0), sum_sq(channels, 0.0);
  for (std::size_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) sum[c] += x[r * channels + c];
  for (int c = 0; c < channels; ++c) sum[c] /= static_cast<double>(rows);
  for (std::size_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) {
      const double d = x[r * channels + c] - sum[c];
      sum_sq[c] += d * d;
    }
  for (int c = 0; c < channels; ++c) {
    const double v = sum_sq[c] / static_cast<double>(rows);
    mean[c] = static_cast<float>(sum[c]);
    var[c] = static_cast<float>(v);
    inv_std[c] = static_cast<float>(1.0 / std::sqrt(v + eps));
  }
  for (std::size_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c)
      y[r * channels + c] = (x[r * channels + c] - mean[c]) * inv_std[c] * gamma[c] + beta[c];
}

// Eval mode: normalise with running statistics.
inline void batch_norm_forward_eval(std::size_t rows, int channels, const float* x, const float* gamma,
                                    const float* beta, const float* running_mean, const float* running_var,
                                    float eps, float* y) {
  for (std::size_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) {
      const float inv_std = 1.0f / std::sqrt(running_var[c] + eps);
      y[r * channels + c] = (x[r * channels + c] - running_mean[c]) * inv_std * gamma[c] + beta[c];
    }
}

// Training-mode backward. With xhat = (x - mean) * inv_std and g = dy * gamma:
//   dx = inv_std * (g - mean(g) - xhat * mean(g * xhat)),  dgamma += sum(dy * xhat),  dbeta += sum(dy).
inline void batch_norm_backward_train(std::size_t rows, int channels, const float* x, const float* dy,
                                      const float* gamma, const float* mean, const float* inv_std, float* dx,
                                      float* dgamma, float* dbeta) {
  std::vector<double> sum_dy(channels, 0.0), sum_dy_xhat(channels, 0.0);
  for (std::size_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) {
      const double xhat = (static_cast<double>(x[r * channels + c]) - mean[c]) * inv_std[c];
      sum_dy[c] += dy[r * channels + c];
      sum_dy_xhat[c] += dy[r * channels + c] * xhat;
    }
  for (int c = 0; c < channels; ++c) {
    dgamma[c] += static_cast<float>(sum_dy_xhat[c]);
    dbeta[c] += static_cast<float>(sum_dy[c]);
  }
  const double inv_rows = 1.0 / static_cast<double>(rows);
  for (std::size_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) {
      const double xhat = (static_cast<double>(x[r * channels + c]) - mean[c]) * inv_std[c];
      const double g = static_cast<double>(dy[r * channels + c]) - sum_dy[c] * inv_rows - xhat * sum_dy_xhat[c] * inv_rows;
      dx[r * channels + c] = static_cast<float>(g * gamma[c] * inv_std[c]);
    }
}

// Eval-mode backward: the statistics are constants, so BN is an affine map per channel.
inline void batch_norm_backward_eval(std::size_t rows, int channels, const float* x, const float* dy,
                                     const float* gamma, const float* running_mean, const float* running_var,
                                     float eps, float* dx, float* dgamma, float* dbeta) {
  // Row by row (NHWC order) rather than channel by channel: one pass over memory, not one per channel,
  // which is what makes frozen batch norm (fine-tuning in eval mode) affordable.
  const auto n = static_cast<std::size_t>(channels);
  std::vector<double> sum_dy(n, 0.0), sum_dy_xhat(n, 0.0), inv_std(n), scale(n);
  for (std::size_t c = 0; c < n; ++c) {
    inv_std[c] = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps);
    scale[c] = gamma[c] * inv_std[c];
  }
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    const float* dyr = dy + r * n;
    float* dxr = dx + r * n;
    for (std::size_t c = 0; c < n; ++c) {
      const double d = dyr[c];
      sum_dy[c] += d;
      sum_dy_xhat[c] += d * (xr[c] - running_mean[c]) * inv_std[c];
      dxr[c] = static_cast<float>(d * scale[c]);
    }
  }
  for (std::size_t c = 0; c < n; ++c) {
    dgamma[c] += static_cast<float>(sum_dy_xhat[c]);
    dbeta[c] += static_cast<float>(sum_dy[c]);
  }
}

}  // namespace pfld::kernels::ref
