// Minimal SVG line charts for the tools' training curves and CED plots.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <pfld/core/error.hpp>

namespace plot {

struct Series {
  std::string name;
  std::string colour;
  std::vector<double> x, y;
};

// One chart, 640 x 360, axes from the data (y from 0 unless `y_from_zero` is false), optional log y.
inline std::string chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                         const std::vector<Series>& series, bool log_y = false) {
  const double W = 640, H = 360, L = 70, R = 20, T = 40, B = 50;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  auto ty = [&](double v) { return log_y ? std::log10(std::max(v, 1e-12)) : v; };
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
    }
  if (!(x1 > x0)) x1 = x0 + 1;
  if (!log_y) y0 = std::min(0.0, y0);
  if (!(y1 > y0)) y1 = y0 + 1;
  auto px = [&](double v) { return L + (v - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double v) { return H - B - (ty(v) - y0) / (y1 - y0) * (H - T - B); };
  std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' width='640' height='360' font-family='sans-serif' font-size='12'>\n";
  svg += "<rect width='640' height='360' fill='white'/>\n";
  svg += "<text x='320' y='22' text-anchor='middle' font-size='15'>" + title + "</text>\n";
  svg += "<line x1='" + std::to_string(L) + "' y1='" + std::to_string(H - B) + "' x2='" + std::to_string(W - R) + "' y2='" +
         std::to_string(H - B) + "' stroke='black'/>\n";
  svg += "<line x1='" + std::to_string(L) + "' y1='" + std::to_string(T) + "' x2='" + std::to_string(L) + "' y2='" +
         std::to_string(H - B) + "' stroke='black'/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double fx = x0 + (x1 - x0) * i / 4, fy = y0 + (y1 - y0) * i / 4;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g", fx);
    svg += "<text x='" + std::to_string(px(fx)) + "' y='" + std::to_string(H - B + 16) + "' text-anchor='middle'>" + buf + "</text>\n";
    std::snprintf(buf, sizeof buf, "%.4g", log_y ? std::pow(10.0, fy) : fy);
    const double yy = H - B - (fy - y0) / (y1 - y0) * (H - T - B);
    svg += "<text x='" + std::to_string(L - 6) + "' y='" + std::to_string(yy + 4) + "' text-anchor='end'>" + buf + "</text>\n";
    svg += "<line x1='" + std::to_string(L) + "' y1='" + std::to_string(yy) + "' x2='" + std::to_string(W - R) + "' y2='" +
           std::to_string(yy) + "' stroke='#ddd'/>\n";
  }
  svg += "<text x='" + std::to_string((L + W - R) / 2) + "' y='" + std::to_string(H - 12) + "' text-anchor='middle'>" + x_label + "</text>\n";
  svg += "<text x='16' y='" + std::to_string((T + H - B) / 2) + "' text-anchor='middle' transform='rotate(-90 16 " +
         std::to_string((T + H - B) / 2) + ")'>" + y_label + "</text>\n";
  int legend = 0;
  for (const auto& s : series) {
    std::string points;
    for (std::size_t i = 0; i < s.x.size(); ++i) points += std::to_string(px(s.x[i])) + "," + std::to_string(py(s.y[i])) + " ";
    svg += "<polyline fill='none' stroke='" + s.colour + "' stroke-width='2' points='" + points + "'/>\n";
    svg += "<text x='" + std::to_string(W - R - 150) + "' y='" + std::to_string(T + 14 + 16 * legend) + "' fill='" +
           s.colour + "'>" + s.name + "</text>\n";
    ++legend;
  }
  return svg + "</svg>\n";
}

inline void write(const std::string& path, const std::string& svg) {
  std::ofstream out(path);
  pfld::require(bool(out), path, ": cannot write");
  out << svg;
}

}  // namespace plot
