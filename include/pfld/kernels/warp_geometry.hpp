// One crop warp as the SIMD kernels see it (warp_simd.inc): 8-bit pixels with three channels in, float
// RGB out, every output pixel a bilinear sample at an affine function of its position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

namespace pfld {

struct WarpGeometry {
  const std::uint8_t* pixels = nullptr;  // the image's first row
  std::ptrdiff_t stride = 0;             // bytes from a row to the next
  int width = 0, height = 0;
  int r = 0, g = 1, b = 2;               // where R, G and B sit in a pixel (BGR: 2, 1, 0)
  // Output pixel (u, v) samples the image at x = m[0] u + m[1] v + m[2], y = m[3] u + m[4] v + m[5].
  const double* m = nullptr;
  int size = 0;        // the output is size x size pixels, RGB interleaved
  float scale = 1.0f;  // a byte value v becomes v * scale
  float* out = nullptr;

  // The kernels address the image with 32-bit byte offsets.
  bool offsets_fit() const {
    return static_cast<double>(stride) * height < static_cast<double>(std::numeric_limits<std::int32_t>::max());
  }
};

}  // namespace pfld
