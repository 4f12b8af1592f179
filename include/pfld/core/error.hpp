// pfld::Error and the small helpers every public entry point uses to validate input.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace pfld {

// The one exception type pfld throws for bad input, bad files and misuse. The message names the
// file, line, field or shape at fault so a tool can print it on one line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// The checks pfld's own entry points use, public for programs built on it that report errors the same
// way: cat joins its arguments as text, fail throws an Error of them, require fails unless `condition`.
template <class... Parts>
std::string cat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
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
