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

}  // namespace cli
