// Correspondences between landmark schemes: which point of one annotation stands for each point of
// another, for evaluating or initialising a model of one scheme with another's.
#pragma once

#include <vector>

#include "../core/error.hpp"

namespace pfld {
inline namespace data {

// For each of the 68 iBUG / 300-W points, its index among WFLW's 98: every other contour point, the
// upper edge of each eyebrow, the nose, the four corners and two lids of each eye (WFLW has eight
// points per eye, 300-W six) and the mouth, which both schemes draw with the same 20 points.
inline std::vector<int> wflw98_to_ibug68() {
  std::vector<int> map;
  for (int i = 0; i <= 32; i += 2) map.push_back(i);        // jaw 0-16
  for (int i = 33; i <= 37; ++i) map.push_back(i);          // brow 17-21
  for (int i = 42; i <= 46; ++i) map.push_back(i);          // brow 22-26
  for (int i = 51; i <= 59; ++i) map.push_back(i);          // nose 27-35
  for (int i : {60, 61, 63, 64, 65, 67}) map.push_back(i);  // eye 36-41
  for (int i : {68, 69, 71, 72, 73, 75}) map.push_back(i);  // eye 42-47
  for (int i = 76; i <= 95; ++i) map.push_back(i);          // mouth 48-67
  return map;
}

// The map from a `from`-point scheme to a `to`-point one: identity for equal counts, WFLW-98 to
// iBUG-68; anything else is an Error naming the pair.
inline std::vector<int> point_map(int from, int to) {
  std::vector<int> map;
  if (from == to) {
    for (int i = 0; i < to; ++i) map.push_back(i);
    return map;
  }
  detail::require(from == 98 && to == 68, "no known correspondence from ", from, " to ", to,
                  " landmarks (known: equal counts, 98 (WFLW) to 68 (300-W))");
  return wflw98_to_ibug68();
}

}  // namespace data
}  // namespace pfld
