// Command-line helpers shared by the tools.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>

namespace cli {

// `text` as a whole decimal integer in [lo, hi]; nothing for anything else ("", "3x", "1e3", out of range).
inline std::optional<int> integer_in(const std::string& text, int lo, int hi) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(text.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE || n < lo || n > hi) return std::nullopt;
  return static_cast<int>(n);
}

// `text` as a whole finite decimal number in [lo, hi]; nothing for anything else ("", "3x", "nan").
inline std::optional<float> number_in(const std::string& text, float lo, float hi) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const float x = std::strtof(text.c_str(), &end);
  if (*end != '\0' || !(x >= lo && x <= hi)) return std::nullopt;
  return x;
}

}  // namespace cli
