// The shape of a 2-D convolution over NHWC input, shared by every ISA's kernels.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#include "../core/error.hpp"

namespace pfld {

// Input (batch, in_h, in_w, in_c) NHWC; weights (out_c, kernel_h, kernel_w, in_c / groups) "OHWI";
// output (batch, out_h(), out_w(), out_c). Zero padding. Depthwise is groups == in_c == out_c.
struct ConvGeometry {
  int batch = 1, in_h = 1, in_w = 1, in_c = 1;
  int out_c = 1, kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int groups = 1;

  int out_h() const { return (in_h + 2 * pad_h - kernel_h) / stride_h + 1; }
  int out_w() const { return (in_w + 2 * pad_w - kernel_w) / stride_w + 1; }
  int in_c_per_group() const { return in_c / groups; }
  int out_c_per_group() const { return out_c / groups; }
  std::size_t weight_count() const {
    return static_cast<std::size_t>(out_c) * kernel_h * kernel_w * in_c_per_group();
  }
  bool is_depthwise() const { return groups == in_c && groups == out_c && groups > 1; }
  // 1x1, stride 1, no padding, dense: the NHWC input is already a GEMM's A (pixels x channels).
  bool is_pointwise() const {
    return groups == 1 && kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0;
  }
  // Output columns [first, last) whose kernel lies wholly inside the input, reading no padding (first ==
  // last: none): the columns kernels compute in tiles without bounds checks, the rest one by one.
  std::pair<int, int> interior_columns() const {
    const int ow = out_w();
    const int first = std::min(ow, (pad_w + stride_w - 1) / stride_w);
    const int last = std::max(first, std::min(ow, (in_w - kernel_w + pad_w) / stride_w + 1));
    return {first, last};
  }
  // Multiply-adds of one forward pass; a forward costs 2 * macs() FLOPs.
  double macs() const {
    return static_cast<double>(batch) * out_h() * out_w() * static_cast<double>(weight_count());
  }

  void validate() const {
    detail::require(batch >= 1 && in_h >= 1 && in_w >= 1 && in_c >= 1 && out_c >= 1, "conv: bad sizes batch=",
                    batch, " in=", in_h, "x", in_w, "x", in_c, " out_c=", out_c);
    detail::require(kernel_h >= 1 && kernel_w >= 1 && stride_h >= 1 && stride_w >= 1 && pad_h >= 0 && pad_w >= 0,
                    "conv: bad kernel ", kernel_h, "x", kernel_w, " stride ", stride_h, "x", stride_w, " pad ", pad_h,
                    "x", pad_w);
    detail::require(groups >= 1 && in_c % groups == 0 && out_c % groups == 0, "conv: groups=", groups,
                    " must divide in_c=", in_c, " and out_c=", out_c);
    detail::require(in_h + 2 * pad_h >= kernel_h && in_w + 2 * pad_w >= kernel_w, "conv: kernel ", kernel_h, "x",
                    kernel_w, " larger than padded input ", in_h + 2 * pad_h, "x", in_w + 2 * pad_w);
  }
};

}  // namespace pfld
