// Landmark mirror maps for horizontal flips: after a flip, point i of the mirrored face is what was
// point map[i] (the left eye's outer corner becomes the right eye's, and so on).
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/parse.hpp"

namespace pfld {
inline namespace data {

using MirrorMap = std::vector<int>;

// iBUG 68-point markup (300-W), 0-based.
inline MirrorMap mirror_map_68() {
  MirrorMap m;
  for (int i = 16; i >= 0; --i) m.push_back(i);        // jaw
  for (int i = 26; i >= 17; --i) m.push_back(i);       // eyebrows
  for (int i = 27; i <= 30; ++i) m.push_back(i);       // nose bridge
  for (int i = 35; i >= 31; --i) m.push_back(i);       // nostrils
  for (int i : {45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40}) m.push_back(i);  // eyes
  for (int i = 54; i >= 48; --i) m.push_back(i);       // outer lips, upper
  for (int i = 59; i >= 55; --i) m.push_back(i);       // outer lips, lower
  for (int i = 64; i >= 60; --i) m.push_back(i);       // inner lips, upper
  for (int i = 67; i >= 65; --i) m.push_back(i);       // inner lips, lower
  return m;
}

// WFLW 98-point markup, 0-based.
inline MirrorMap mirror_map_98() {
  MirrorMap m;
  for (int i = 32; i >= 0; --i) m.push_back(i);                                // contour
  for (int i : {46, 45, 44, 43, 42, 50, 49, 48, 47}) m.push_back(i);           // left eyebrow <- right
  for (int i : {37, 36, 35, 34, 33, 41, 40, 39, 38}) m.push_back(i);           // right eyebrow <- left
  for (int i : {51, 52, 53, 54, 59, 58, 57, 56, 55}) m.push_back(i);           // nose
  for (int i : {72, 71, 70, 69, 68, 75, 74, 73}) m.push_back(i);               // left eye <- right
  for (int i : {64, 63, 62, 61, 60, 67, 66, 65}) m.push_back(i);               // right eye <- left
  for (int i : {82, 81, 80, 79, 78, 77, 76, 87, 86, 85, 84, 83}) m.push_back(i);  // outer lips
  for (int i : {92, 91, 90, 89, 88, 95, 94, 93}) m.push_back(i);               // inner lips
  for (int i : {97, 96}) m.push_back(i);                                       // pupils
  return m;
}

// A map must be a permutation of 0..n-1 that undoes itself.
inline void validate_mirror_map(const MirrorMap& m, const std::string& source) {
  const int n = static_cast<int>(m.size());
  for (int i = 0; i < n; ++i) {
    detail::require(m[static_cast<std::size_t>(i)] >= 0 && m[static_cast<std::size_t>(i)] < n, source, ": entry ", i,
                    " = ", m[static_cast<std::size_t>(i)], " outside 0..", n - 1);
    detail::require(m[static_cast<std::size_t>(m[static_cast<std::size_t>(i)])] == i, source, ": entry ", i, " maps to ",
                    m[static_cast<std::size_t>(i)], ", which does not map back");
  }
}

// The built-in map for 68 or 98 points.
inline MirrorMap mirror_map_for(int landmarks) {
  if (landmarks == 68) return mirror_map_68();
  if (landmarks == 98) return mirror_map_98();
  detail::fail("no built-in mirror map for ", landmarks, " landmarks: give one from a file (read_mirror_map)");
}

// A custom map: whitespace-separated 0-based indices, entry i being the source of point i after a flip.
inline MirrorMap read_mirror_map(const std::string& path, int landmarks) {
  std::ifstream in(path);
  detail::require(bool(in), path, ": cannot open");
  detail::require(landmarks >= 1, path, ": a mirror map for ", landmarks, " landmarks");
  MirrorMap m;
  std::vector<std::string> tokens;
  for (std::string token; in >> token && tokens.size() <= static_cast<std::size_t>(landmarks);) tokens.push_back(token);
  detail::require(tokens.size() == static_cast<std::size_t>(landmarks), path, ": ",
                  tokens.size() > static_cast<std::size_t>(landmarks) ? "at least " : "", tokens.size(),
                  " entries, expected ", landmarks);
  for (const std::string& token : tokens) {
    const auto index = detail::parse_integer(token, 0, landmarks - 1);
    detail::require(index.has_value(), path, ": '", token, "' is not an index from 0 to ", landmarks - 1);
    m.push_back(static_cast<int>(*index));
  }
  validate_mirror_map(m, path);
  return m;
}

}  // namespace data
}  // namespace pfld
