// Drawing on RGB images for the tools: dots, lines, boxes, text (stb_easy_font's bitmap glyphs).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <pfld/data/image.hpp>
#include <pfld/data/landmarks.hpp>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb/stb_easy_font.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace draw {

struct Colour {
  std::uint8_t r, g, b;
};

inline void pixel(pfld::Image& img, int x, int y, Colour c) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  std::uint8_t* p = img.at(x, y);
  p[0] = c.r, p[1] = c.g, p[2] = c.b;
}

inline void fill_rect(pfld::Image& img, int x0, int y0, int x1, int y1, Colour c) {
  for (int y = std::max(0, y0); y < std::min(img.height, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(img.width, x1); ++x) pixel(img, x, y, c);
}

inline void dot(pfld::Image& img, pfld::Point p, int radius, Colour c) {
  const int cx = static_cast<int>(std::lround(p.x)), cy = static_cast<int>(std::lround(p.y));
  for (int dy = -radius; dy <= radius; ++dy)
    for (int dx = -radius; dx <= radius; ++dx)
      if (dx * dx + dy * dy <= radius * radius + radius) pixel(img, cx + dx, cy + dy, c);
}

inline void line(pfld::Image& img, pfld::Point a, pfld::Point b, Colour c, int thickness = 1) {
  const float length = std::max(std::abs(b.x - a.x), std::abs(b.y - a.y));
  const int steps = std::max(1, static_cast<int>(std::ceil(length)));
  for (int i = 0; i <= steps; ++i) {
    const float t = static_cast<float>(i) / static_cast<float>(steps);
    const pfld::Point p{a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t};
    if (thickness <= 1)
      pixel(img, static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y)), c);
    else
      dot(img, p, thickness / 2, c);
  }
}

inline void box(pfld::Image& img, const pfld::Box& b, Colour c, int thickness = 2) {
  const pfld::Point tl{b.x, b.y}, tr{b.x + b.width, b.y}, br{b.x + b.width, b.y + b.height}, bl{b.x, b.y + b.height};
  line(img, tl, tr, c, thickness);
  line(img, tr, br, c, thickness);
  line(img, br, bl, c, thickness);
  line(img, bl, tl, c, thickness);
}

// Text with its top-left corner at (x, y), glyphs `scale` pixels per font unit, on a dark backing.
inline void text(pfld::Image& img, int x, int y, const std::string& s, Colour c, int scale = 1) {
  std::vector<char> buffer(s.size() * 300 + 64);
  std::string copy = s;
  const int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, buffer.data(), static_cast<int>(buffer.size()));
  const int width = stb_easy_font_width(copy.data()) * scale, height = 12 * scale;
  fill_rect(img, x - 1, y - 1, x + width + 1, y + height, {0, 0, 0});
  const float* v = reinterpret_cast<const float*>(buffer.data());
  for (int q = 0; q < quads; ++q) {
    const float* quad = v + q * 16;  // 4 vertices of x, y, z, colour
    const int x0 = static_cast<int>(quad[0]), y0 = static_cast<int>(quad[1]);
    const int x1 = static_cast<int>(quad[8]), y1 = static_cast<int>(quad[9]);
    fill_rect(img, x + x0 * scale, y + y0 * scale, x + x1 * scale, y + y1 * scale, c);
  }
}

// A colour per facial part of the 68-point markup, image-left eye/brow green, image-right red, so that a
// mirrored face with a wrong mirror map shows at a glance.
inline Colour landmark_colour(std::size_t index, std::size_t count) {
  if (count != 68) return {255, 220, 0};
  if (index <= 16) return {255, 220, 0};                                    // jaw
  if ((index >= 17 && index <= 21) || (index >= 36 && index <= 41)) return {40, 230, 40};  // image-left brow, eye
  if ((index >= 22 && index <= 26) || (index >= 42 && index <= 47)) return {240, 40, 40};  // image-right brow, eye
  if (index <= 35) return {60, 160, 255};                                   // nose
  return {255, 100, 255};                                                   // mouth
}

}  // namespace draw
