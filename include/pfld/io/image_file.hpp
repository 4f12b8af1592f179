// Reading and writing image files with stb_image (Debian: libstb-dev). Optional: pfld.hpp does not
// include this header; tools and programs that decode files do. Each including translation unit gets its
// own static copy of stb, so no one has to define STB_IMAGE_IMPLEMENTATION.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "../core/error.hpp"
#include "../data/image.hpp"

#if defined(__GNUC__)
#pragma GCC system_header  // stb's own code is not held to pfld's warning flags
#endif

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace pfld::io {

// Decodes a JPEG, PNG or BMP file into RGB.
inline Image read_image(const std::string& path) {
  int w = 0, h = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load(path.c_str(), &w, &h, &channels, 3), stbi_image_free);
  detail::require(pixels != nullptr, path, ": cannot read image (", stbi_failure_reason() ? stbi_failure_reason() : "unknown error", ")");
  detail::require(w > 0 && h > 0, path, ": empty image");
  Image image(w, h, PixelFormat::rgb);
  std::copy(pixels.get(), pixels.get() + image.pixels.size(), image.pixels.begin());
  return image;
}

inline void write_png(const std::string& path, const Image& image) {
  detail::require(image.width > 0 && image.height > 0, path, ": cannot write an empty image");
  const int channels = channels_of(image.format);
  detail::require(image.format != PixelFormat::bgr, path, ": convert BGR to RGB before writing");
  detail::require(stbi_write_png(path.c_str(), image.width, image.height, channels, image.pixels.data(),
                                 image.width * channels) != 0,
                  path, ": cannot write PNG");
}

}  // namespace pfld::io
