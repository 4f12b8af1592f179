// pfld::Error and the small helpers every public entry point uses to validate input.
#pragma once

#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace pfld {

// The one exception type pfld throws for bad input, bad files and misuse. The message names the
// file, line, field or shape at fault so a tool can print it on one line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {

// One part of a cat message appended as text, as `std::ostream <<` would write it (floating point as %g
// with six digits, bool as 0 or 1), except that signed and unsigned chars print as numbers. Strings and
// numbers are appended directly: a string stream per message made every distinct argument list a
// kilobyte of code, and a program checks hundreds of them.
template <class T>
void append_text(std::string& out, const T& part) {
  if constexpr (std::is_same_v<T, const char*> || std::is_same_v<T, char*>)
    out += part ? std::string_view(part) : std::string_view("(null)");
  else if constexpr (std::is_convertible_v<const T&, std::string_view>)
    out += std::string_view(part);
  else if constexpr (std::is_same_v<T, char>)
    out += part;
  else if constexpr (std::is_same_v<T, bool>)
    out += part ? '1' : '0';
  else if constexpr (std::is_integral_v<T>)
    out += std::to_string(part);
  else if constexpr (std::is_floating_point_v<T>) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", static_cast<double>(part));
    out += text;
  } else {  // a caller's own type with an operator<<
    std::ostringstream stream;
    stream << part;
    out += stream.str();
  }
}

}  // namespace detail

// The checks pfld's own entry points use, public for programs built on it that report errors the same
// way: cat joins its arguments as text, fail throws an Error of them, require fails unless `condition`.
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (detail::append_text(out, parts), ...);
  return out;
}

template <class... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  throw Error(cat(std::forward<Parts>(parts)...));
}

template <class... Parts>
void require(bool condition, Parts&&... parts) {
  if (!condition) fail(std::forward<Parts>(parts)...);
}

namespace detail {  // (the library's own calls spell them detail::require and so on)
using pfld::cat;
using pfld::fail;
using pfld::require;
}  // namespace detail

}  // namespace pfld
