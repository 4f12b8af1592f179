// Ridge regression in closed form: the linear map (with bias) from K inputs to L outputs that minimises
// mean_i |W x_i + b - y_i|^2 + ridge |W|^2 over n samples. For the small last-layer fits of
// fit_readout.hpp and refit_output_layer.hpp: a K x K Cholesky solve in double precision.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "../core/error.hpp"

namespace pfld::train {

// Accumulates samples one at a time, then solves.
class RidgeRegression {
 public:
  RidgeRegression(std::size_t inputs, std::size_t outputs)
      : k_(inputs), l_(outputs), sum_x_(inputs, 0.0), sum_y_(outputs, 0.0), xx_(inputs * inputs, 0.0),
        xy_(inputs * outputs, 0.0) {
    detail::require(inputs > 0 && outputs > 0, "RidgeRegression: ", inputs, " inputs, ", outputs, " outputs");
  }

  std::size_t samples() const { return n_; }

  void add(const float* x, const float* y) {
    for (std::size_t r = 0; r < k_; ++r)
      detail::require(std::isfinite(x[r]), "RidgeRegression: input ", r, " of sample ", n_, " is not finite");
    for (std::size_t c = 0; c < l_; ++c)
      detail::require(std::isfinite(y[c]), "RidgeRegression: output ", c, " of sample ", n_, " is not finite");
    for (std::size_t r = 0; r < k_; ++r) {
      const double xr = x[r];
      sum_x_[r] += xr;
      for (std::size_t c = 0; c <= r; ++c) xx_[r * k_ + c] += xr * x[c];
      for (std::size_t c = 0; c < l_; ++c) xy_[r * l_ + c] += xr * y[c];
    }
    for (std::size_t c = 0; c < l_; ++c) sum_y_[c] += y[c];
    ++n_;
  }

  // L rows of K + 1 columns, row-major, the last column the bias.
  std::vector<float> solve(double ridge) const {
    detail::require(n_ > 0, "RidgeRegression: no samples");
    detail::require(std::isfinite(ridge) && ridge > 0, "RidgeRegression: ridge ", ridge, " is not positive");
    const double n = static_cast<double>(n_);
    // Centred moments: G = cov(x) + ridge I, B = cov(x, y); then G W' = B.
    std::vector<double> g(k_ * k_), b(k_ * l_);
    for (std::size_t r = 0; r < k_; ++r) {
      for (std::size_t c = 0; c <= r; ++c) g[r * k_ + c] = xx_[r * k_ + c] / n - sum_x_[r] / n * sum_x_[c] / n;
      g[r * k_ + r] += ridge;
      for (std::size_t c = 0; c < l_; ++c) b[r * l_ + c] = xy_[r * l_ + c] / n - sum_x_[r] / n * sum_y_[c] / n;
    }
    // Cholesky G = L L' in the lower triangle.
    for (std::size_t j = 0; j < k_; ++j) {
      double d = g[j * k_ + j];
      for (std::size_t p = 0; p < j; ++p) d -= g[j * k_ + p] * g[j * k_ + p];
      detail::require(d > 0, "RidgeRegression: the system is not positive definite (a larger ridge?)");
      g[j * k_ + j] = std::sqrt(d);
      for (std::size_t r = j + 1; r < k_; ++r) {
        double v = g[r * k_ + j];
        for (std::size_t p = 0; p < j; ++p) v -= g[r * k_ + p] * g[j * k_ + p];
        g[r * k_ + j] = v / g[j * k_ + j];
      }
    }
    for (std::size_t c = 0; c < l_; ++c) {
      for (std::size_t r = 0; r < k_; ++r) {  // L z = b
        double v = b[r * l_ + c];
        for (std::size_t p = 0; p < r; ++p) v -= g[r * k_ + p] * b[p * l_ + c];
        b[r * l_ + c] = v / g[r * k_ + r];
      }
      for (std::size_t r = k_; r-- > 0;) {  // L' w = z
        double v = b[r * l_ + c];
        for (std::size_t p = r + 1; p < k_; ++p) v -= g[p * k_ + r] * b[p * l_ + c];
        b[r * l_ + c] = v / g[r * k_ + r];
      }
    }
    std::vector<float> w(l_ * (k_ + 1));
    for (std::size_t c = 0; c < l_; ++c) {
      double bias = sum_y_[c] / n;
      for (std::size_t r = 0; r < k_; ++r) {
        w[c * (k_ + 1) + r] = static_cast<float>(b[r * l_ + c]);
        bias -= b[r * l_ + c] * sum_x_[r] / n;
      }
      w[c * (k_ + 1) + k_] = static_cast<float>(bias);
    }
    return w;
  }

 private:
  std::size_t k_, l_, n_ = 0;
  std::vector<double> sum_x_, sum_y_, xx_, xy_;
};

}  // namespace pfld::train
