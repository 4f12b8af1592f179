// Reading and writing image files with stb_image (Debian: libstb-dev). Optional: pfld.hpp does not
// include this header; tools and programs that decode files do. Each including translation unit gets its
// own static copy of stb, so no one has to define STB_IMAGE_IMPLEMENTATION (under
// PFLD_SEPARATE_COMPILATION only the implementation unit does: core/compilation.hpp).
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "../core/compilation.hpp"
#include "../core/error.hpp"
#include "../data/image.hpp"
#include "file_bytes.hpp"

namespace pfld::io {

// What a decoder may be asked to allocate. The header's size is checked before any pixel is decoded,
// so a small file that declares a huge image is refused at once instead of taking gigabytes.
struct ImageLimits {
  std::uint64_t max_pixels = std::uint64_t{64} << 20;       // 64 Mpx (192 MB as RGB)
  std::uint64_t max_file_bytes = std::uint64_t{1} << 30;  // 1 GiB read into memory at most
};

// Decodes a JPEG, PNG or BMP held in memory into RGB; `source` names it in errors.
PFLD_ENTRY Image decode_image(const unsigned char* data, std::size_t size, const std::string& source,
                              const ImageLimits& limits = {});

// Reads image files within `limits`; an ImageDecoder for load_faces with limits of your choice.
struct ImageReader {
  ImageLimits limits;

  Image operator()(const std::string& path) const {
    const std::vector<unsigned char> bytes = read_file_bytes(path, limits.max_file_bytes);
    return decode_image(bytes.data(), bytes.size(), path, limits);
  }
};

// Decodes a JPEG, PNG or BMP file into RGB, within the default ImageLimits.
inline Image read_image(const std::string& path) { return ImageReader{}(path); }

// Writes an RGB or grey image as PNG.
PFLD_ENTRY void write_png(const std::string& path, const Image& image);

}  // namespace pfld::io

#if PFLD_DEFINE_ENTRIES

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

namespace detail_image {

// Debian 12's stb_image (2.27) writes past a Huffman table when a JPEG's DHT segment declares more than
// 256 codes, and decodes a scan whose Huffman table no DHT defined with whatever its memory held
// (reading out of bounds). This walks every marker segment of a JPEG, the scans' entropy-coded data
// included (progressive files define tables between scans), and refuses such tables and scans, and
// segments that run past the end, before stb sees the file. Returns the problem, or null when there is
// none (or the bytes are not a JPEG).
inline const char* jpeg_table_problem(const unsigned char* p, std::size_t n) {
  // A JPEG starts with SOI (FF D8); stb, like the standard's decoders, also takes fill bytes before it.
  std::size_t at = 0;
  while (at < n && p[at] == 0xFF) ++at;
  if (at == 0 || at >= n || p[at] != 0xD8) return nullptr;  // not a JPEG: stb will not read it as one
  ++at;
  bool defined[2][4] = {};  // Huffman tables defined so far: [DC, AC][table id]
  while (at + 1 < n) {
    if (p[at] != 0xFF) {  // entropy-coded data of a scan: up to the next marker
      ++at;
      continue;
    }
    const unsigned char marker = p[at + 1];
    if (marker == 0xFF || marker == 0x00 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      at += marker == 0xFF ? 1 : 2;  // fill byte, stuffed zero, restart marker, TEM: no length follows
      continue;
    }
    if (marker == 0xD9) return nullptr;  // EOI
    if (at + 3 >= n) return "a JPEG segment is cut short";
    const std::size_t length = static_cast<std::size_t>(p[at + 2]) << 8 | p[at + 3];
    if (length < 2 || at + 2 + length > n) return "a JPEG segment runs past the end of the file";
    if (marker == 0xC4) {  // DHT: tables of (class/id, 16 code counts, the codes' symbols)
      std::size_t q = at + 4;
      const std::size_t end = at + 2 + length;
      while (q < end) {
        if (end - q < 17) return "a JPEG Huffman table is cut short";
        std::size_t codes = 0;
        for (std::size_t i = 1; i <= 16; ++i) codes += p[q + i];
        if (codes > 256) return "a JPEG Huffman table declares more than 256 codes";
        if (end - q - 17 < codes) return "a JPEG Huffman table is cut short";
        if (p[q] >> 4 <= 1 && (p[q] & 15) <= 3) defined[p[q] >> 4][p[q] & 15] = true;
        q += 17 + codes;
      }
    }
    if (marker == 0xDA && length >= 3) {  // SOS: components' (DC, AC) table ids, then the spectral band
      const std::size_t components = p[at + 4];
      if (length < 6 + 2 * components) return "a JPEG scan header is cut short";
      const unsigned char band_start = p[at + 5 + 2 * components], band_end = p[at + 6 + 2 * components];
      for (std::size_t i = 0; i < components; ++i) {
        const unsigned char tables = p[at + 6 + 2 * i];
        const int dc = tables >> 4, ac = tables & 15;
        // stb 2.27 decodes with a table that no DHT defined: uninitialised memory, read out of bounds.
        if ((band_start == 0 && dc <= 3 && !defined[0][dc]) || (band_end > 0 && ac <= 3 && !defined[1][ac]))
          return "a JPEG scan uses a Huffman table that was never defined";
      }
    }
    at += 2 + length;
  }
  return nullptr;
}

// stb 2.27 copies the first IDAT chunk of a PNG into a buffer it has not allocated yet when that chunk
// is empty (memcpy from a null pointer; encoders never write one), and grows its buffer to a chunk's
// declared length, up to 2 GB, before it finds the file too short for it. This walks the chunks and
// refuses both. Returns the problem, or null when there is none (or the bytes are not a PNG).
inline const char* png_chunk_problem(const unsigned char* p, std::size_t n) {
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (n < 8 || std::memcmp(p, signature, 8) != 0) return nullptr;
  bool seen_data = false;
  for (std::size_t at = 8; n - at >= 8;) {
    const std::size_t length = static_cast<std::size_t>(p[at]) << 24 | static_cast<std::size_t>(p[at + 1]) << 16 |
                               static_cast<std::size_t>(p[at + 2]) << 8 | p[at + 3];
    if (length > n - at - 8) return "a PNG chunk runs past the end of the file";
    if (std::memcmp(p + at + 4, "IEND", 4) == 0) return nullptr;
    if (std::memcmp(p + at + 4, "IDAT", 4) == 0) {
      if (!seen_data && length == 0) return "a PNG's first IDAT chunk is empty";
      seen_data = true;
    }
    if (n - at - 8 - length < 4) return nullptr;  // no room for the CRC: the last chunk; stb says what is wrong
    at += 12 + length;
  }
  return nullptr;
}

}  // namespace detail_image

PFLD_ENTRY Image decode_image(const unsigned char* data, std::size_t size, const std::string& source,
                              const ImageLimits& limits) {
  detail::require(size > 0, source, ": empty file, not an image");
  detail::require(size <= static_cast<std::size_t>(std::numeric_limits<int>::max()), source, ": ", size,
                  " bytes: too large for the image decoder");
  const int length = static_cast<int>(size);
  // Before stb reads anything: its header pass (stbi_info) builds Huffman tables too.
  for (const char* problem : {detail_image::jpeg_table_problem(data, size), detail_image::png_chunk_problem(data, size)})
    if (problem) detail::fail(source, ": cannot read image (", problem, ")");
  int w = 0, h = 0, channels = 0;
  detail::require(stbi_info_from_memory(data, length, &w, &h, &channels) != 0, source, ": cannot read image (",
                  stbi_failure_reason() ? stbi_failure_reason() : "unknown format", ")");
  detail::require(w > 0 && h > 0, source, ": empty image");
  const std::uint64_t pixels = static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h);
  detail::require(pixels <= limits.max_pixels, source, ": the image declares ", w, "x", h, " pixels, more than the ",
                  limits.max_pixels, " this reader accepts (ImageLimits::max_pixels)");
  int dw = 0, dh = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(stbi_load_from_memory(data, length, &dw, &dh, &channels, 3),
                                                    stbi_image_free);
  detail::require(decoded != nullptr, source, ": cannot read image (",
                  stbi_failure_reason() ? stbi_failure_reason() : "unknown error", ")");
  detail::require(dw == w && dh == h, source, ": the image decodes to ", dw, "x", dh, ", its header says ", w, "x", h);
  Image image(w, h, PixelFormat::rgb);
  std::copy(decoded.get(), decoded.get() + image.pixels.size(), image.pixels.begin());
  return image;
}

PFLD_ENTRY void write_png(const std::string& path, const Image& image) {
  detail::require(image.width > 0 && image.height > 0, path, ": cannot write an empty image");
  const int channels = channels_of(image.format);
  detail::require(image.format != PixelFormat::bgr, path, ": convert BGR to RGB before writing");
  detail::require(stbi_write_png(path.c_str(), image.width, image.height, channels, image.pixels.data(),
                                 image.width * channels) != 0,
                  path, ": cannot write PNG");
}

}  // namespace pfld::io

#endif  // PFLD_DEFINE_ENTRIES
