// Landmark sets and boxes in image pixel coordinates.
//
// Convention, everywhere in pfld: coordinates are 0-based and a pixel's centre is its integer
// coordinate, so pixel i covers [i - 0.5, i + 0.5]; a W-pixel-wide image spans [-0.5, W - 0.5] and a
// horizontal flip maps x to (W - 1) - x.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"

namespace pfld {
inline namespace data {

struct Point {
  float x = 0.0f;
  float y = 0.0f;
};

// The largest coordinate an annotation file may hold, in pixels: 2^24, where floats still count whole
// pixels. Files beyond it are refused, so boxes and crops computed from them stay finite.
constexpr float kMaxAnnotationCoordinate = 16777216.0f;

using Landmarks = std::vector<Point>;

// An axis-aligned box: top-left corner and size, in the continuous coordinates above.
struct Box {
  float x = 0.0f;
  float y = 0.0f;
  float width = 0.0f;
  float height = 0.0f;

  float center_x() const { return x + width / 2; }
  float center_y() const { return y + height / 2; }

  void validate(const char* what) const {
    detail::require(std::isfinite(x) && std::isfinite(y) && std::isfinite(width) && std::isfinite(height), what,
                    ": box has a non-finite coordinate");
    detail::require(width > 0 && height > 0, what, ": box size ", width, "x", height, " is not positive");
  }
};

// (`what` is a view: a check on the allocation-free paths must not build a string to name itself)
inline void require_finite(const Landmarks& points, std::string_view what) {
  for (std::size_t i = 0; i < points.size(); ++i)
    detail::require(std::isfinite(points[i].x) && std::isfinite(points[i].y), what, ": landmark ", i,
                    " is not a finite number");
}

// The tight box around the points (the points' extremes, not pixel edges).
inline Box bounding_box(const Landmarks& points) {
  detail::require(!points.empty(), "bounding_box: no landmarks");
  float x0 = std::numeric_limits<float>::max(), y0 = x0, x1 = -x0, y1 = -x0;
  for (const Point& p : points) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  return {x0, y0, x1 - x0, y1 - y0};
}

// The eye centres of a face in a scheme pfld knows, the image-left eye first: 68 points (iBUG), the
// mean of each eye's six points; 98 (WFLW), its pupils 96 and 97. False for other point counts.
inline bool eye_centres(const Landmarks& points, Point& left, Point& right) {
  std::size_t first = 0, count = 0;  // the left eye's points; the right eye's follow them
  if (points.size() == 68) first = 36, count = 6;
  if (points.size() == 98) first = 96, count = 1;
  if (count == 0) return false;
  auto mean = [&](std::size_t from) {
    Point m{0, 0};
    // (at(): GCC 12's -Warray-bounds otherwise sees index 36 in a vector it knows to hold 5 points)
    for (std::size_t i = from; i < from + count; ++i) m.x += points.at(i).x, m.y += points.at(i).y;
    return Point{m.x / static_cast<float>(count), m.y / static_cast<float>(count)};
  };
  left = mean(first), right = mean(first + count);
  return true;
}

}  // namespace data
}  // namespace pfld
