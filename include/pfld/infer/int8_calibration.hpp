// Calibration for int8 inference: the real range each activation of a network takes on typical inputs
// (a few hundred training crops), from which its byte map (QuantParams) follows. The float graph runs
// on every crop (GraphNet::observe reports its named tensors); each tensor's values go into a
// histogram over its observed range, and the range kept is one of three rules:
//  - min_max: everything observed; a single outlier stretches the steps for all other values;
//  - percentile: all but the given share of outliers;
//  - mse: the range whose quantization (clipping outside, rounding inside) has the least expected
//    squared error over the histogram (the calibrators of TensorRT and onnxruntime do the like).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "activation_ranges.hpp"
#include "graph_net.hpp"
#include "int8_quantization.hpp"

namespace pfld {
inline namespace infer {

enum class RangeMethod { min_max, percentile, mse };

inline const char* to_string(RangeMethod m) {
  return m == RangeMethod::min_max ? "min_max" : m == RangeMethod::percentile ? "percentile" : "mse";
}

struct CalibrationOptions {
  RangeMethod method = RangeMethod::mse;
  double percentile = 99.99;  // for RangeMethod::percentile: the share of values (%) the range keeps
  int bins = 2048;            // histogram bins per tensor
};

namespace detail_calibration {

// A histogram of one tensor's values over [lo, hi] (its observed range widened to contain 0).
struct Histogram {
  float lo = 0.0f, hi = 0.0f;
  std::vector<double> counts;

  void add(float v) {
    const double t = (static_cast<double>(v) - lo) / (static_cast<double>(hi) - lo) * static_cast<double>(counts.size());
    const std::size_t bin = std::min(counts.size() - 1, static_cast<std::size_t>(std::max(t, 0.0)));
    counts[bin] += 1.0;
  }
  double centre(std::size_t bin) const {
    return lo + (static_cast<double>(bin) + 0.5) * (static_cast<double>(hi) - lo) / static_cast<double>(counts.size());
  }
  double edge(std::size_t bin) const {
    return lo + static_cast<double>(bin) * (static_cast<double>(hi) - lo) / static_cast<double>(counts.size());
  }

  // The value below which `share` of the counts lie.
  double quantile(double share) const {
    double total = 0.0;
    for (double c : counts) total += c;
    double below = 0.0;
    for (std::size_t b = 0; b < counts.size(); ++b) {
      if (below + counts[b] >= share * total) return edge(b) + (edge(b + 1) - edge(b)) * (share * total - below) / std::max(counts[b], 1.0);
      below += counts[b];
    }
    return hi;
  }

  // The expected squared error of quantizing the histogram's values to 256 steps over [a, b].
  double quantization_error(double a, double b) const {
    const double step = (b - a) / 255.0, rounding = step * step / 12.0;
    double error = 0.0;
    for (std::size_t bin = 0; bin < counts.size(); ++bin) {
      if (counts[bin] == 0.0) continue;
      const double v = centre(bin);
      const double clipped = v < a ? a - v : v > b ? v - b : 0.0;
      error += counts[bin] * (clipped > 0.0 ? clipped * clipped : rounding);
    }
    return error;
  }

  std::pair<float, float> range(const CalibrationOptions& o) const {
    if (o.method == RangeMethod::min_max || hi <= lo) return {lo, hi};
    if (o.method == RangeMethod::percentile) {
      // The outliers' share from each tail that has values below or above 0.
      const double out = (100.0 - o.percentile) / 100.0, tails = (lo < 0.0f ? 1 : 0) + (hi > 0.0f ? 1 : 0);
      const double a = lo < 0.0f ? quantile(out / tails) : 0.0, b = hi > 0.0f ? quantile(1.0 - out / tails) : 0.0;
      return {static_cast<float>(std::min(a, 0.0)), static_cast<float>(std::max(b, 0.0))};
    }
    // mse: the observed range shrunk towards 0 by each of 200 factors; the one of least error.
    double best_error = quantization_error(lo, hi), best = 1.0;
    for (int i = 1; i < 200; ++i) {
      const double f = 1.0 - i / 200.0;
      const double e = quantization_error(lo * f, hi * f);
      if (e < best_error) best_error = e, best = f;
    }
    return {static_cast<float>(lo * best), static_cast<float>(hi * best)};
  }
};

}  // namespace detail_calibration

// The ranges of `graph`'s named float tensors over `count` inputs, fill(i, input) writing input i
// (input_height x input_width x 3 floats, as input() takes them). Requires count >= 1 and finite
// activations (an Error names the tensor otherwise). Runs the graph twice per input (ranges, then
// histograms), so fill must give the same input i both times.
inline ActivationRanges calibrate_activations(const GraphNet& graph, int count,
                                              const std::function<void(int, float*)>& fill,
                                              const CalibrationOptions& options = {}) {
  using detail_calibration::Histogram;
  detail::require(count >= 1, "calibrate_activations: no inputs");
  detail::require(options.bins >= 16, "calibrate_activations: ", options.bins, " bins (16 or more)");
  detail::require(options.percentile > 0.0 && options.percentile <= 100.0, "calibrate_activations: percentile ",
                  options.percentile, " outside (0, 100]");
  InferenceArena arena = graph.make_arena();
  std::map<std::string, Histogram> histograms;
  auto each_value = [](const float* data, const GraphNet::Value& v, std::size_t pitch, auto&& f) {
    for (std::size_t p = 0; p < v.pixels(); ++p)
      for (int c = 0; c < v.c; ++c) f(data[p * pitch + static_cast<std::size_t>(c)]);
  };
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < count; ++i) {
      fill(i, graph.input(arena));
      graph.observe(arena, [&](const std::string& name, const float* data, const GraphNet::Value& v, std::size_t pitch) {
        if (pass == 0) {
          Histogram& h = histograms[name];
          each_value(data, v, pitch, [&](float x) {
            detail::require(std::isfinite(x), "calibrate_activations: '", name, "' has a value that is not finite");
            h.lo = std::min(h.lo, x), h.hi = std::max(h.hi, x);
          });
        } else {
          Histogram& h = histograms.at(name);
          if (h.hi > h.lo) each_value(data, v, pitch, [&](float x) { h.add(x); });
        }
      });
    }
    if (pass == 0)
      for (auto& [name, h] : histograms) h.counts.assign(static_cast<std::size_t>(options.bins), 0.0);
  }
  ActivationRanges ranges;
  for (const auto& [name, h] : histograms) ranges.ranges[name] = h.range(options);
  return ranges;
}

// The same over inputs held one after another in `inputs`.
inline ActivationRanges calibrate_activations(const GraphNet& graph, const float* inputs, int count,
                                              const CalibrationOptions& options = {}) {
  const std::size_t floats = static_cast<std::size_t>(graph.input_height()) * graph.input_width() * 3;
  return calibrate_activations(
      graph, count, [&](int i, float* input) { std::copy_n(inputs + static_cast<std::size_t>(i) * floats, floats, input); },
      options);
}

}  // namespace infer
}  // namespace pfld
