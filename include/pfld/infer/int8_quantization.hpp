// The arithmetic of int8 inference: how real values map to bytes, how a layer's float weights become
// per-channel int8 weights, and the requantization (kernels/int8_gemm_kernel.hpp) that makes an int8
// layer compute act(W x + b [+ residual]) in its output's byte units. The int8 kernels take these
// parameters; calibration (which ranges a network's tensors take) builds on them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../core/error.hpp"
#include "../kernels/activation.hpp"
#include "../kernels/int8_gemm_kernel.hpp"

namespace pfld {
inline namespace infer {

// An affine map between real values and bytes: real = scale * (q - zero), q in [0, 255]. Zero is a
// byte, so real 0 (a convolution's padding, a ReLU's floor) is exact.
struct QuantParams {
  float scale = 1.0f;
  int zero = 0;

  // The map of the range [lo, hi] widened to contain 0. Requires finite lo <= hi.
  static QuantParams from_range(float lo, float hi) {
    detail::require(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "int8 range [", lo, ", ", hi, "] is not a range");
    lo = std::min(lo, 0.0f);
    hi = std::max(hi, 0.0f);
    QuantParams p;
    if (hi - lo <= 0.0f) return p;  // all zero: any scale
    p.scale = static_cast<float>((static_cast<double>(hi) - lo) / 255.0);
    p.zero = static_cast<int>(std::lround(-static_cast<double>(lo) / p.scale));
    p.zero = std::clamp(p.zero, 0, 255);
    return p;
  }

  std::uint8_t quantize(float v) const {
    const double q = std::nearbyint(static_cast<double>(v) / scale) + zero;
    return static_cast<std::uint8_t>(std::clamp(q, 0.0, 255.0));
  }
  float dequantize(std::uint8_t q) const { return scale * static_cast<float>(static_cast<int>(q) - zero); }
};

// Symmetric per-output-channel int8 weights: w[j][q] ~ scales[j] * values[j][q], values in [-127, 127].
struct Int8Weights {
  int n = 0, k = 0;
  std::vector<std::int8_t> values;  // n rows of k
  std::vector<float> scales;        // n
};

// Each row's scale is its largest |w| / 127 (1 for a row of zeros). Requires finite weights.
inline Int8Weights quantize_weights(const float* w, int n, int k) {
  detail::require(n >= 1 && k >= 1, "quantize_weights: ", n, " x ", k, " weights");
  Int8Weights q;
  q.n = n;
  q.k = k;
  q.values.resize(static_cast<std::size_t>(n) * static_cast<std::size_t>(k));
  q.scales.resize(static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j) {
    const float* row = w + static_cast<std::size_t>(j) * static_cast<std::size_t>(k);
    float largest = 0.0f;
    for (int i = 0; i < k; ++i) {
      detail::require(std::isfinite(row[i]), "quantize_weights: weight ", i, " of output ", j, " is not finite");
      largest = std::max(largest, std::fabs(row[i]));
    }
    const float scale = largest > 0.0f ? largest / 127.0f : 1.0f;
    q.scales[static_cast<std::size_t>(j)] = scale;
    for (int i = 0; i < k; ++i)
      q.values[static_cast<std::size_t>(j) * static_cast<std::size_t>(k) + static_cast<std::size_t>(i)] =
          static_cast<std::int8_t>(std::clamp(std::nearbyint(row[i] / scale), -127.0f, 127.0f));
  }
  return q;
}

// The requantization of one int8 layer, y = clamp(W x + b [+ r]), as arrays an Int8Requantize points
// into (view()). Owns its arrays; immutable once built.
struct Int8LayerRequant {
  std::vector<std::int32_t> offset;  // empty for a depthwise layer (its kernel subtracts the zero point)
  std::vector<float> scale, shift;
  float residual_scale = 0.0f;
  float lo = 0.0f, hi = 255.0f;

  // The kernels' view; `residual` (bytes, row stride `residual_stride`) when the layer adds one.
  kernels::Int8Requantize view(const std::uint8_t* residual = nullptr, std::size_t residual_stride = 0) const {
    kernels::Int8Requantize e;
    e.offset = offset.empty() ? nullptr : offset.data();
    e.scale = scale.data();
    e.shift = shift.data();
    e.residual = residual;
    e.residual_stride = residual_stride;
    e.residual_scale = residual_scale;
    e.lo = lo;
    e.hi = hi;
    return e;
  }
};

// For a layer from input map `in` with weights `w` (column_sums: each output's sum of w.values, for
// the GEMM's zero-point offset; null for a depthwise layer), float bias (null: none), output map `out`,
// the activation's clamp in real units, and the residual's map when the layer adds one:
//   scale[j] = in.scale * w.scales[j] / out.scale,  shift[j] = bias[j] / out.scale + out.zero
//              (- residual.zero * residual.scale / out.scale),
//   offset[j] = -in.zero * column_sums[j],  lo, hi = the clamp in output bytes.
// The ratios are computed in double, then rounded once to float.
inline Int8LayerRequant make_int8_requant(const QuantParams& in, const Int8Weights& w, const std::int32_t* column_sums,
                                          const float* bias, const QuantParams& out, const Clamp& act,
                                          const QuantParams* residual = nullptr) {
  Int8LayerRequant r;
  const std::size_t n = static_cast<std::size_t>(w.n);
  r.scale.resize(n);
  r.shift.resize(n);
  if (column_sums) r.offset.resize(n);
  double residual_shift = 0.0;
  if (residual) {
    r.residual_scale = static_cast<float>(static_cast<double>(residual->scale) / out.scale);
    residual_shift = -static_cast<double>(residual->zero) * residual->scale / out.scale;
  }
  for (std::size_t j = 0; j < n; ++j) {
    r.scale[j] = static_cast<float>(static_cast<double>(in.scale) * w.scales[j] / out.scale);
    r.shift[j] = static_cast<float>((bias ? static_cast<double>(bias[j]) : 0.0) / out.scale + out.zero + residual_shift);
    if (column_sums) r.offset[j] = -in.zero * column_sums[j];
  }
  auto to_byte = [&](float real) {
    if (!std::isfinite(real)) return real < 0 ? 0.0f : 255.0f;
    return static_cast<float>(std::clamp(std::nearbyint(static_cast<double>(real) / out.scale) + out.zero, 0.0, 255.0));
  };
  r.lo = to_byte(act.lo);
  r.hi = to_byte(act.hi);
  return r;
}

}  // namespace infer
}  // namespace pfld
