// Convolution weights between ONNX's layout, OIHW (out, in / groups, kh, kw), and pfld's, OHWI
// (out, kh, kw, in / groups): the one pair of transposes import, export and ONNX -> weights use.
#pragma once

#include <cstddef>
#include <vector>

namespace pfld {
inline namespace infer {

inline std::vector<float> ohwi_from_oihw(const float* oihw, int out, int in_per_group, int kh, int kw) {
  std::vector<float> ohwi(static_cast<std::size_t>(out) * in_per_group * kh * kw);
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in_per_group; ++i)
      for (int y = 0; y < kh; ++y)
        for (int x = 0; x < kw; ++x)
          ohwi[((static_cast<std::size_t>(o) * kh + y) * kw + x) * in_per_group + i] =
              oihw[((static_cast<std::size_t>(o) * in_per_group + i) * kh + y) * kw + x];
  return ohwi;
}

inline std::vector<float> oihw_from_ohwi(const float* ohwi, int out, int in_per_group, int kh, int kw) {
  std::vector<float> oihw(static_cast<std::size_t>(out) * in_per_group * kh * kw);
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in_per_group; ++i)
      for (int y = 0; y < kh; ++y)
        for (int x = 0; x < kw; ++x)
          oihw[((static_cast<std::size_t>(o) * in_per_group + i) * kh + y) * kw + x] =
              ohwi[((static_cast<std::size_t>(o) * kh + y) * kw + x) * in_per_group + i];
  return oihw;
}

}  // namespace infer
}  // namespace pfld
