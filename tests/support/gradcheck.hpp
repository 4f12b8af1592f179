// Finite-difference gradient checking.
//
// For a scalar loss L(theta) we compare the analytic gradient from backward with the central difference
// (L(theta + eps) - L(theta - eps)) / (2 eps), element by element. Layers are checked through the loss
// L = sum(r * f(x)) with a fixed random r, so backward is called with dy = r.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <pfld/core/rng.hpp>
#include <pfld/core/tensor.hpp>
#include <pfld/nn/layer.hpp>

#include "compare.hpp"

namespace pfld::test {

struct GradCheckResult {
  bool ok = true;
  std::string report;  // the worst element, for the failure message
};

struct GradCheckOptions {
  float eps = 1e-2f;       // float32 network: smaller steps drown in rounding noise
  double rtol = 1e-2;      // relative to the larger of the two gradients
  double atol = 1e-3;      // absolute, times the largest analytic gradient of the tensor
  std::size_t max_elements = 96;  // elements checked per tensor (all of them when fewer)
};

inline double dot(const Tensor& a, const Tensor& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.numel(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Checks `analytic` as the gradient of `loss` with respect to `value`, perturbing `value` in place
// (restored afterwards).
inline GradCheckResult check_gradient(const std::string& what, Tensor& value, const Tensor& analytic,
                                      const std::function<double()>& loss, Rng& rng,
                                      const GradCheckOptions& opt = {}) {
  GradCheckResult result;
  std::vector<std::size_t> indices(value.numel());
  std::iota(indices.begin(), indices.end(), std::size_t{0});
  for (std::size_t i = indices.size(); i > 1; --i) std::swap(indices[i - 1], indices[rng.below(static_cast<std::uint32_t>(i))]);
  if (indices.size() > opt.max_elements) indices.resize(opt.max_elements);

  double scale = 0.0;
  for (float g : analytic) scale = std::max(scale, std::abs(static_cast<double>(g)));
  double worst_excess = -1.0;
  for (std::size_t i : indices) {
    const float saved = value[i];
    value[i] = saved + opt.eps;
    const double plus = loss();
    value[i] = saved - opt.eps;
    const double minus = loss();
    value[i] = saved;
    const double numeric = (plus - minus) / (2.0 * static_cast<double>(opt.eps));
    const double a = analytic[i];
    const double allowed = opt.atol * std::max(scale, 1e-3) + opt.rtol * std::max(std::abs(a), std::abs(numeric));
    const double excess = std::abs(a - numeric) / allowed;
    if (excess > worst_excess) {
      worst_excess = excess;
      std::ostringstream s;
      s << what << "[" << i << "]: analytic " << a << ", numeric " << numeric << " (allowed difference " << allowed
        << ")";
      result.report = s.str();
    }
  }
  result.ok = worst_excess <= 1.0;
  return result;
}

inline Tensor random_tensor(const Shape& shape, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(shape);
  for (float& v : t) v = rng.uniform(lo, hi);
  return t;
}

// Checks a layer's input gradient and every parameter gradient. Returns one result per tensor.
inline std::vector<GradCheckResult> check_layer(nn::Layer& layer, Tensor x, Rng& rng, const GradCheckOptions& opt = {}) {
  const Tensor r = random_tensor(layer.forward(x).shape(), rng);
  auto loss = [&] { return dot(layer.forward(x), r); };

  layer.zero_grad();
  layer.forward(x);
  const Tensor dx = layer.backward(r).clone();
  std::vector<Tensor> param_grads;
  for (auto& p : layer.parameters()) param_grads.push_back(p.grad->clone());

  std::vector<GradCheckResult> results{check_gradient("input", x, dx, loss, rng, opt)};
  auto params = layer.parameters();
  for (std::size_t i = 0; i < params.size(); ++i)
    results.push_back(check_gradient(params[i].name, *params[i].value, param_grads[i], loss, rng, opt));
  return results;
}

}  // namespace pfld::test
