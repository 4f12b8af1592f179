// Command-line helpers shared by the tools: strict number parsing and one way to report mistakes.
//
// Every tool reports an error as one line on stderr, "<tool>: <what>", and exits non-zero: 2 for a
// mistake on the command line (then "(try --help)" follows), 1 for anything else (a missing or
// corrupt file, bad data). `--help` prints the usage on stdout and exits with 0.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace cli {

// A mistake on the command line: an unknown option, a missing or malformed value.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The value of `option` as a whole decimal integer in [lo, hi] ("", "3x", "1e3" and out of range are
// not), or a UsageError that names the option, the range and what was given.
inline int integer_option(const std::string& option, const std::string& text, int lo, int hi) {
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || n < lo || n > hi)
    throw UsageError(option + " takes a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                     ", not '" + text + "'");
  return static_cast<int>(n);
}

// The same for a finite decimal number in [lo, hi] ("nan" is not).
inline float number_option(const std::string& option, const std::string& text, float lo, float hi) {
  char* end = nullptr;
  const float x = std::strtof(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(x >= lo && x <= hi)) {
    char range[64];
    std::snprintf(range, sizeof range, "%g to %g", static_cast<double>(lo), static_cast<double>(hi));
    throw UsageError(option + " takes a number from " + range + ", not '" + text + "'");
  }
  return x;
}

// Reads argv in order: `while (args.next())` visits each argument (args.arg()); an option's value is
// taken with value(), integer() or number(), which throw a UsageError naming the option when the value
// is missing or malformed.
class ArgReader {
 public:
  ArgReader(int argc, char** argv) : argc_(argc), argv_(argv) {}

  bool next() {
    if (++i_ >= argc_) return false;
    arg_ = argv_[i_];
    return true;
  }
  const std::string& arg() const { return arg_; }
  bool is_option() const { return arg_.size() > 1 && arg_[0] == '-'; }

  std::string value() {
    if (i_ + 1 >= argc_) throw UsageError(arg_ + " needs a value");
    return argv_[++i_];
  }
  // The next argument when it is not an option (an option's optional value), else nothing.
  std::optional<std::string> optional_value() {
    if (i_ + 1 >= argc_ || (argv_[i_ + 1][0] == '-' && argv_[i_ + 1][1] != '\0')) return std::nullopt;
    return std::string(argv_[++i_]);
  }
  int integer(int lo, int hi) { return integer_option(arg_, value(), lo, hi); }
  float number(float lo, float hi) { return number_option(arg_, value(), lo, hi); }

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string arg_;
};

// Runs a tool's body and turns what it throws into the one-line report and exit status above.
template <class Body>
int run_tool(const char* tool, Body&& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s (try --help)\n", tool, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", tool, e.what());
    return 1;
  }
}

}  // namespace cli
