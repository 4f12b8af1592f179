// The calibrated real ranges of a network's activations (what int8 inference quantizes them to), and
// their file: a short text anyone can read and diff, e.g. weights/face_detection_yunet_2023mar-int8.ranges:
//
//   pfld activation ranges 1
//   model face_detection_yunet_2023mar.onnx      (metadata: one "key value" line each)
//   range -4.25 17.5 onnx::Conv_123              (lo, hi, then the tensor's name: the rest of the line)
//
// Readers check every line: an unknown first line, a malformed or non-finite number, lo > hi, a range
// beyond 1e30 or narrower than 1e-30 (not 0), a name given twice, or a file over 16 MB is an Error
// naming the file and the line.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/parse.hpp"
#include "../io/file_bytes.hpp"
#include "int8_quantization.hpp"

namespace pfld {
inline namespace infer {

// Real ranges [lo, hi] of activations by tensor name (the name of the layer that writes it), and what
// the file says about them (metadata: the model they belong to, the calibration). Copyable value type.
struct ActivationRanges {
  std::map<std::string, std::pair<float, float>> ranges;
  std::map<std::string, std::string> metadata;

  // The byte map of the named tensor's range; an Error when calibration did not measure it.
  QuantParams quant_params(const std::string& name) const {
    const auto it = ranges.find(name);
    detail::require(it != ranges.end(), "int8: no calibrated range for '", name, "'");
    return QuantParams::from_range(it->second.first, it->second.second);
  }
};

namespace detail_ranges {
constexpr const char* kHeader = "pfld activation ranges 1";
constexpr std::size_t kMaxBytes = std::size_t{16} << 20;
constexpr float kMaxMagnitude = 1e30f, kMinSpan = 1e-30f;
}  // namespace detail_ranges

// The ranges file's text (`source` names it in errors).
inline ActivationRanges parse_activation_ranges(std::string_view text, const std::string& source) {
  using namespace detail_ranges;
  detail::require(text.size() <= kMaxBytes, source, ": ", text.size(), " bytes, more than a ranges file's ", kMaxBytes);
  ActivationRanges r;
  std::size_t at = 0;
  for (int line = 1; at < text.size(); ++line) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view s = text.substr(at, end - at);
    at = end + 1;
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
    auto bad = [&](const char* what) { detail::fail(source, ": line ", line, ": ", what); };
    if (line == 1) {
      if (s != kHeader) bad("not a pfld activation ranges file (expected \"pfld activation ranges 1\")");
      continue;
    }
    if (s.empty()) continue;
    const std::size_t space = s.find(' ');
    if (space == 0 || space == std::string_view::npos) bad("expected \"key value\" or \"range lo hi name\"");
    const std::string_view key = s.substr(0, space), rest = s.substr(space + 1);
    if (key != "range") {
      if (rest.empty() || !r.metadata.emplace(std::string(key), std::string(rest)).second) bad("metadata key empty or given twice");
      continue;
    }
    const std::size_t s1 = rest.find(' '), s2 = s1 == std::string_view::npos ? s1 : rest.find(' ', s1 + 1);
    if (s2 == std::string_view::npos || s2 + 1 >= rest.size()) bad("a range needs lo, hi and a tensor name");
    const auto lo = detail::parse_real<float>(rest.substr(0, s1));
    const auto hi = detail::parse_real<float>(rest.substr(s1 + 1, s2 - s1 - 1));
    if (!lo || !hi || *lo > *hi) bad("lo and hi must be finite numbers, lo <= hi");
    // (a byte map's scale, the range widened to 0 over 255 steps, stays a normal float, and so do the
    // requantization's ratios of scales)
    const float wide = std::max(*hi, 0.0f) - std::min(*lo, 0.0f);
    if (std::max(std::abs(*lo), std::abs(*hi)) > kMaxMagnitude || (wide > 0.0f && wide < kMinSpan))
      bad("a range beyond 1e30 in size, or wider than 0 but narrower than 1e-30");
    if (!r.ranges.emplace(std::string(rest.substr(s2 + 1)), std::make_pair(*lo, *hi)).second) bad("a tensor's range given twice");
  }
  detail::require(!text.empty(), source, ": empty (not a pfld activation ranges file)");
  return r;
}

inline ActivationRanges load_activation_ranges(const std::string& path) {
  const std::vector<unsigned char> bytes = io::read_file_bytes(path, detail_ranges::kMaxBytes);
  return parse_activation_ranges(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

// The model file a ranges file at `path` calibrates: its "model" line, relative to the file's folder.
inline std::string model_of(const ActivationRanges& r, const std::string& path) {
  const auto named = r.metadata.find("model");
  detail::require(named != r.metadata.end(), path, ": no \"model\" line naming the ONNX file it calibrates");
  return (std::filesystem::path(path).parent_path() / named->second).string();
}

// Writes `r` as a ranges file (the numbers in full float precision). Requires names without line
// breaks and metadata keys without spaces (an Error otherwise).
inline void save_activation_ranges(const std::string& path, const ActivationRanges& r) {
  std::string text = std::string(detail_ranges::kHeader) + "\n";
  for (const auto& [key, value] : r.metadata) {
    detail::require(!key.empty() && key != "range" && key.find_first_of(" \n\r") == std::string::npos &&
                        !value.empty() && value.find_first_of("\n\r") == std::string::npos,
                    "save_activation_ranges: metadata '", key, "' cannot be written");
    text += key + " " + value + "\n";
  }
  char number[64];
  for (const auto& [name, range] : r.ranges) {
    detail::require(!name.empty() && name.find_first_of("\n\r") == std::string::npos, "save_activation_ranges: tensor name '",
                    name, "' cannot be written");
    std::snprintf(number, sizeof number, "%.9g %.9g", static_cast<double>(range.first), static_cast<double>(range.second));
    text += "range " + std::string(number) + " " + name + "\n";
  }
  std::ofstream out(path, std::ios::binary);
  out << text;
  detail::require(bool(out), path, ": cannot write");
}

}  // namespace infer
}  // namespace pfld
