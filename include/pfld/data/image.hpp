// 8-bit images: a non-owning view over the caller's pixel buffer, and an owning RGB image.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/error.hpp"

namespace pfld {
inline namespace data {

enum class PixelFormat { rgb, bgr, gray };

inline int channels_of(PixelFormat f) { return f == PixelFormat::gray ? 1 : 3; }

// Rows of width * channels bytes, `stride` bytes apart (stride >= width * channels).
struct ImageView {
  const std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  std::ptrdiff_t stride = 0;
  PixelFormat format = PixelFormat::rgb;

  ImageView() = default;
  ImageView(const std::uint8_t* pixels, int w, int h, PixelFormat f, std::ptrdiff_t row_stride = 0)
      : data(pixels), width(w), height(h), stride(row_stride ? row_stride : static_cast<std::ptrdiff_t>(w) * channels_of(f)),
        format(f) {}

  int channels() const { return channels_of(format); }
  bool empty() const { return data == nullptr || width <= 0 || height <= 0; }
  const std::uint8_t* row(int y) const { return data + static_cast<std::ptrdiff_t>(y) * stride; }

  // RGB of pixel (x, y), inside the image.
  void rgb(int x, int y, float out[3]) const {
    const std::uint8_t* p = row(y) + static_cast<std::ptrdiff_t>(x) * channels();
    switch (format) {
      case PixelFormat::rgb: out[0] = p[0], out[1] = p[1], out[2] = p[2]; break;
      case PixelFormat::bgr: out[0] = p[2], out[1] = p[1], out[2] = p[0]; break;
      case PixelFormat::gray: out[0] = out[1] = out[2] = p[0]; break;
    }
  }

  void validate(const char* what) const {
    detail::require(data != nullptr, what, ": image has no pixels");
    detail::require(width > 0 && height > 0, what, ": image is empty (", width, "x", height, ")");
    detail::require(stride >= static_cast<std::ptrdiff_t>(width) * channels(), what, ": row stride ", stride,
                    " is smaller than a row of ", width, " pixels");
  }
};

// An owning 8-bit image, RGB unless said otherwise.
struct Image {
  int width = 0;
  int height = 0;
  PixelFormat format = PixelFormat::rgb;
  std::vector<std::uint8_t> pixels;

  Image() = default;
  Image(int w, int h, PixelFormat f = PixelFormat::rgb)
      : width(w), height(h), format(f), pixels(static_cast<std::size_t>(w) * h * channels_of(f), 0) {
    detail::require(w > 0 && h > 0, "Image: bad size ", w, "x", h);
  }

  ImageView view() const { return ImageView(pixels.data(), width, height, format); }
  std::uint8_t* at(int x, int y) { return pixels.data() + (static_cast<std::size_t>(y) * width + x) * channels_of(format); }
};

}  // namespace data
}  // namespace pfld
