// WFLW annotation lists: one face per line,
//   196 numbers (98 x y pairs), 4 box numbers (x_min y_min x_max y_max), 6 attribute flags
//   (pose, expression, illumination, make-up, occlusion, blur), the image path (relative to the images root).
#pragma once

#include <array>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../core/parse.hpp"
#include "landmarks.hpp"

namespace pfld {
inline namespace data {

struct WflwRecord {
  Landmarks landmarks;             // 98 points
  Box box;                         // the face box of the annotation
  std::array<int, 6> attributes{};  // 0/1: pose, expression, illumination, make-up, occlusion, blur
  std::string image;               // path as written in the list
  int line = 0;
};

inline const char* const kWflwAttributeNames[6] = {"pose", "expression", "illumination", "make-up", "occlusion", "blur"};

inline WflwRecord parse_wflw_line(const std::string& text, const std::string& source, int line_no) {
  auto where = [&] { return detail::cat(source, ":", line_no, ": "); };
  std::istringstream in(text);
  std::vector<std::string> tokens;
  for (std::string t; in >> t;) tokens.push_back(t);
  detail::require(tokens.size() == 207, where(), "expected 207 fields (196 coordinates, 4 box, 6 flags, path), got ",
                  tokens.size());
  auto number = [&](std::size_t i) {
    const auto v = detail::parse_real<float>(tokens[i]);
    detail::require(v.has_value(), where(), "field ", i + 1, " '", tokens[i], "' is not a finite number");
    detail::require(std::abs(*v) <= kMaxAnnotationCoordinate, where(), "field ", i + 1, " '", tokens[i],
                    "' lies beyond +-", kMaxAnnotationCoordinate, " pixels");
    return *v;
  };
  WflwRecord r;
  r.line = line_no;
  for (std::size_t i = 0; i < 98; ++i) r.landmarks.push_back({number(2 * i), number(2 * i + 1)});
  const float x0 = number(196), y0 = number(197), x1 = number(198), y1 = number(199);
  detail::require(x1 > x0 && y1 > y0, where(), "face box (", x0, ", ", y0, ") - (", x1, ", ", y1, ") is empty");
  r.box = {x0, y0, x1 - x0, y1 - y0};
  for (std::size_t i = 0; i < 6; ++i) {
    const std::string& f = tokens[200 + i];
    detail::require(f == "0" || f == "1", where(), "attribute flag ", kWflwAttributeNames[i], " is '", f,
                    "', not 0 or 1");
    r.attributes[i] = f == "1";
  }
  r.image = tokens[206];
  return r;
}

// Every face of a list; `source` names it in errors ("list.txt:12: ...").
inline std::vector<WflwRecord> parse_wflw_list(std::istream& in, const std::string& source) {
  std::vector<WflwRecord> records;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no)
    if (line.find_first_not_of(" \t\r\n") != std::string::npos) records.push_back(parse_wflw_line(line, source, line_no));
  detail::require(!records.empty(), source, ": no faces");
  return records;
}

inline std::vector<WflwRecord> read_wflw_list(const std::string& path) {
  std::ifstream in(path);
  detail::require(bool(in), path, ": cannot open");
  return parse_wflw_list(in, path);
}

}  // namespace data
}  // namespace pfld
