// iBUG .pts landmark files, with or without the "version / n_points / {" header.
//
//   version: 1
//   n_points: 68
//   {
//   x y
//   ...
//   }
#pragma once

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "../core/parse.hpp"
#include "landmarks.hpp"

namespace pfld {
inline namespace data {

struct PtsOptions {
  bool one_based = false;   // 300-W's original files count pixels from 1; the shared data is 0-based
  int expected_points = 0;  // 0 accepts any count
};

namespace detail_pts {

inline std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace detail_pts

// Parses .pts text; `source` names the file in errors ("face.pts:12: ...").
inline Landmarks parse_pts(std::istream& in, const std::string& source, const PtsOptions& options = {}) {
  Landmarks points;
  std::string line;
  int line_no = 0, declared = -1;
  bool in_braces = false, closed = false, header_seen = false;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string t = detail_pts::trim(line);
    if (t.empty()) continue;
    auto where = [&] { return detail::cat(source, ":", line_no, ": "); };
    if (t.rfind("version", 0) == 0) {
      header_seen = true;
      continue;
    }
    if (t.rfind("n_points", 0) == 0) {
      const auto colon = t.find(':');
      detail::require(colon != std::string::npos, where(), "n_points without ':'");
      const std::string count = detail_pts::trim(t.substr(colon + 1));
      const auto n = detail::parse_integer(count, 1, 1000000);
      detail::require(n.has_value(), where(), "n_points is not a whole number from 1 to 1000000: '", count, "'");
      declared = static_cast<int>(*n);
      header_seen = true;
      continue;
    }
    if (t == "{") {
      detail::require(!in_braces && !closed, where(), "unexpected '{'");
      in_braces = true;
      continue;
    }
    if (t == "}") {
      detail::require(in_braces, where(), "'}' without '{'");
      in_braces = false;
      closed = true;
      continue;
    }
    detail::require(!closed, where(), "text after the closing '}'");
    detail::require(!header_seen || in_braces, where(), "point outside '{' ... '}'");
    std::istringstream fields(t);
    std::string xs, ys, extra;
    fields >> xs >> ys;
    detail::require(!ys.empty() && !(fields >> extra), where(), "expected two numbers 'x y', got '", t, "'");
    const auto x = detail::parse_real<float>(xs), y = detail::parse_real<float>(ys);
    detail::require(x && y, where(), "expected two numbers 'x y', got '", t, "' (not a finite number)");
    detail::require(std::abs(*x) <= kMaxAnnotationCoordinate && std::abs(*y) <= kMaxAnnotationCoordinate, where(),
                    "coordinate beyond +-", kMaxAnnotationCoordinate, " pixels");
    Point p{*x, *y};
    if (options.one_based) p.x -= 1.0f, p.y -= 1.0f;
    points.push_back(p);
  }
  detail::require(!in_braces, source, ": missing closing '}'");
  detail::require(!points.empty(), source, ": no points");
  detail::require(declared < 0 || static_cast<int>(points.size()) == declared, source, ": header says ", declared,
                  " points, the file has ", points.size());
  detail::require(options.expected_points <= 0 || static_cast<int>(points.size()) == options.expected_points, source,
                  ": ", points.size(), " points, expected ", options.expected_points);
  return points;
}

inline Landmarks read_pts(const std::string& path, const PtsOptions& options = {}) {
  std::ifstream in(path);
  detail::require(bool(in), path, ": cannot open");
  return parse_pts(in, path, options);
}

// Writes `points` as a .pts file with its header, 0-based pixels (one_based: 1-based, as 300-W's
// originals), with enough digits that read_pts gives the same floats back.
inline void write_pts(const std::string& path, const Landmarks& points, const PtsOptions& options = {}) {
  detail::require(!points.empty(), path, ": no points to write");
  std::ofstream out(path);
  detail::require(bool(out), path, ": cannot write");
  out.precision(9);
  out << "version: 1\nn_points: " << points.size() << "\n{\n";
  const float shift = options.one_based ? 1.0f : 0.0f;
  for (const Point& p : points) {
    detail::require(std::isfinite(p.x) && std::isfinite(p.y), path, ": a point is not finite");
    out << p.x + shift << ' ' << p.y + shift << '\n';
  }
  out << "}\n";
  detail::require(bool(out), path, ": write failed");
}

}  // namespace data
}  // namespace pfld
