// Strict number parsing for every reader of text (.pts, WFLW lists, cascade XML, checkpoint metadata).
//
// A field is a number only when all of it is: "68abc", "", " 3" and "0x10" are not, so corrupt text is
// reported instead of read as a prefix. Parsing ignores the locale (std::from_chars). Subnormal values
// are numbers; values that do not fit the type are not.
#pragma once

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string_view>
#include <system_error>

namespace pfld::detail {

// The whole of `text` as a decimal integer in [lo, hi] (an optional leading '-'), or nothing.
inline std::optional<long long> parse_integer(std::string_view text, long long lo, long long hi) {
  long long value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty() || value < lo || value > hi) return std::nullopt;
  return value;
}

// The whole of `text` as a finite number of type Real (float or double), or nothing. An optional
// leading '+' is accepted (from_chars itself takes only '-'). A float too small even for a subnormal
// rounds to zero, as a C cast of the double would.
template <class Real>
std::optional<Real> parse_real(std::string_view text) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && (text.front() == '+' || text.front() == '-')) return std::nullopt;
  }
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  if (std::abs(value) > static_cast<double>(std::numeric_limits<Real>::max())) return std::nullopt;
  return static_cast<Real>(value);
}

}  // namespace pfld::detail
