// Tensor: a shape plus float32 storage, 64-byte aligned, NHWC for activations.
//
// Copying a Tensor is cheap and shares storage (like a view); clone() copies the data.
// Views (reshaped, batch ranges) share storage without copying. Rank is at most 4:
// activations are (N, H, W, C), convolution weights (O, KH, KW, I), FC weights (O, I).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "error.hpp"

namespace pfld {

// Dimensions of a tensor. Every Shape holds at most kMaxElements elements: constructing a larger one
// (or one whose element count overflows) is an Error, so a shape read from a file can never wrap
// around into a small allocation.
class Shape {
 public:
  static constexpr int kMaxRank = 4;
  // 2^31 - 1 floats (8 GiB): every element index fits an int, and no size computed from a Shape overflows.
  static constexpr std::size_t kMaxElements = std::numeric_limits<std::int32_t>::max();

  Shape() = default;
  Shape(std::initializer_list<int> dims) {
    detail::require(dims.size() <= kMaxRank, "Shape: rank ", dims.size(), " exceeds ", kMaxRank);
    for (int d : dims) {
      detail::require(d >= 0, "Shape: negative dimension ", d);
      dims_[rank_++] = d;
    }
    check_size();
  }

  static Shape nhwc(int n, int h, int w, int c) { return Shape{n, h, w, c}; }

  int rank() const { return rank_; }
  int operator[](int axis) const { return dims_[checked_axis(axis)]; }
  // Counting from the end: back(0) is the innermost (channel) dimension.
  int back(int i = 0) const { return dims_[checked_axis(rank_ - 1 - i)]; }

  // At most kMaxElements (the constructors refuse more).
  std::size_t numel() const {
    std::size_t count = 1;
    for (int i = 0; i < rank_; ++i) count *= static_cast<std::size_t>(dims_[i]);
    return count;
  }

  // A copy with dimension `axis` set to `value`.
  Shape with(int axis, int value) const {
    detail::require(value >= 0, "Shape: negative dimension ", value);
    Shape s = *this;
    s.dims_[checked_axis(axis)] = value;
    s.check_size();
    return s;
  }

  bool operator==(const Shape& other) const {
    return rank_ == other.rank_ && std::equal(dims_.begin(), dims_.begin() + rank_, other.dims_.begin());
  }
  bool operator!=(const Shape& other) const { return !(*this == other); }

  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
    return s + "]";
  }

 private:
  // Refuses element counts above kMaxElements, checking each partial product so none can overflow.
  void check_size() const {
    std::size_t count = 1;
    for (int i = 0; i < rank_; ++i) {
      const auto d = static_cast<std::size_t>(dims_[i]);
      if (d == 0) return;
      detail::require(count <= kMaxElements / d, "Shape ", str(), ": more than ", kMaxElements, " elements");
      count *= d;
    }
  }

  int checked_axis(int axis) const {
    detail::require(axis >= 0 && axis < rank_, "Shape ", str(), ": no axis ", axis);
    return axis;
  }

  std::array<int, kMaxRank> dims_{};
  int rank_ = 0;
};

class Tensor {
 public:
  static constexpr std::size_t kAlignment = 64;

  Tensor() = default;

  // Zero-filled, freshly allocated, 64-byte aligned.
  explicit Tensor(const Shape& shape) : Tensor(zeroed(shape, kAlignment, false)) {}

  // Zero-filled like Tensor(shape), but 2 MB aligned, its size rounded up to whole 2 MB pages, and
  // advised onto transparent huge pages where the OS offers them (Linux with THP in "madvise" or
  // "always" mode; elsewhere an ordinary allocation). For a block read end to end again and again, such
  // as an inference network's weights: on 4 KB pages their thousand-odd pages miss the TLB.
  static Tensor on_huge_pages(const Shape& shape) { return zeroed(shape, std::size_t{2} << 20, true); }

  // A view over memory the caller owns and keeps alive; nothing is copied or freed.
  static Tensor wrap(float* data, const Shape& shape) {
    Tensor t;
    t.shape_ = shape;
    t.data_ = data;
    return t;
  }

  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int dim(int axis) const { return shape_[axis]; }
  // A default-constructed tensor holds nothing: numel() 0, data() null.
  std::size_t numel() const { return data_ ? shape_.numel() : 0; }
  bool empty() const { return numel() == 0; }

  float* data() { return data_; }
  const float* data() const { return data_; }
  float* begin() { return data_; }
  float* end() { return data_ + numel(); }
  const float* begin() const { return data_; }
  const float* end() const { return data_ + numel(); }

  float& operator[](std::size_t i) { return data_[i]; }
  float operator[](std::size_t i) const { return data_[i]; }

  // NHWC element access (rank 4 only); for tests and slow paths, not inner loops.
  float& at(int n, int h, int w, int c) { return data_[offset(n, h, w, c)]; }
  float at(int n, int h, int w, int c) const { return data_[offset(n, h, w, c)]; }

  // Same storage, another shape with the same element count.
  Tensor reshaped(const Shape& shape) const {
    detail::require(shape.numel() == numel(), "reshape ", shape_.str(), " -> ", shape.str(),
                    ": element counts differ");
    Tensor t = *this;
    t.shape_ = shape;
    return t;
  }

  // Same storage: samples [first, first + count) along axis 0.
  Tensor batch(int first, int count) const {
    detail::require(rank() >= 1 && first >= 0 && count >= 0 && first + count <= dim(0), "batch(", first,
                    ", ", count, ") outside tensor ", shape_.str());
    const std::size_t per_sample = dim(0) ? numel() / static_cast<std::size_t>(dim(0)) : 0;
    Tensor t = *this;
    t.data_ = data_ + static_cast<std::size_t>(first) * per_sample;
    t.shape_ = shape_.with(0, count);
    return t;
  }

  // Same storage, which the view keeps alive: `shape`'s elements from `offset` floats in.
  Tensor view(std::size_t offset, const Shape& shape) const {
    detail::require(offset + shape.numel() <= numel(), "view of ", shape.str(), " at ", offset, " outside tensor ",
                    shape_.str());
    Tensor t = *this;
    t.data_ = data_ + offset;
    t.shape_ = shape;
    return t;
  }

  Tensor clone() const {
    Tensor t(shape_);
    if (!empty()) std::memcpy(t.data_, data_, numel() * sizeof(float));
    return t;
  }

  void fill(float value) { std::fill(begin(), end(), value); }
  void zero() { fill(0.0f); }

  bool shares_storage_with(const Tensor& other) const {
    return storage_ ? storage_ == other.storage_ : (data_ && data_ == other.data_);
  }

 private:
  std::size_t offset(int n, int h, int w, int c) const {
    detail::require(rank() == 4, "at(n,h,w,c) on tensor of shape ", shape_.str());
    return ((static_cast<std::size_t>(n) * dim(1) + h) * dim(2) + w) * dim(3) + c;
  }

  // Fresh zero-filled storage at `alignment`; on huge pages its size is rounded up to whole pages, and
  // the advice comes before the first touch (the zero fill), which is when pages are chosen.
  static Tensor zeroed(const Shape& shape, std::size_t alignment, bool huge_pages) {
    Tensor t;
    t.shape_ = shape;
    const std::size_t n = shape.numel();
    if (n == 0) return t;
    const std::size_t bytes =
        huge_pages ? (n * sizeof(float) + alignment - 1) / alignment * alignment : n * sizeof(float);
    auto* raw = static_cast<float*>(::operator new(bytes, std::align_val_t{alignment}));
    t.storage_ = std::shared_ptr<float>(raw, [alignment](float* p) { ::operator delete(p, std::align_val_t{alignment}); });
    t.data_ = raw;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (huge_pages) madvise(raw, bytes, MADV_HUGEPAGE);  // advice only: without huge pages, an ordinary block
#endif
    std::memset(raw, 0, n * sizeof(float));
    return t;
  }

  std::shared_ptr<float> storage_;
  float* data_ = nullptr;
  Shape shape_;
};

// Moves the tensors' contents into one block on huge pages (Tensor::on_huge_pages), each starting on a
// 64-byte boundary, and points the tensors at them: same shapes, same values, and data read together
// (a network's weights, layer after layer) on a few TLB entries. Empty tensors stay empty.
inline void gather_onto_huge_pages(const std::vector<Tensor*>& tensors) {
  auto rounded = [](std::size_t floats) { return (floats + 15) / 16 * 16; };
  std::size_t total = 0;
  for (const Tensor* t : tensors) total += rounded(t->numel());
  if (total == 0) return;
  detail::require(total <= static_cast<std::size_t>(std::numeric_limits<int>::max()), "gather_onto_huge_pages: ",
                  total, " floats");
  const Tensor block = Tensor::on_huge_pages(Shape{static_cast<int>(total)});
  std::size_t at = 0;
  for (Tensor* t : tensors) {
    if (t->empty()) continue;
    Tensor moved = block.view(at, t->shape());
    std::memcpy(moved.data(), t->data(), t->numel() * sizeof(float));
    at += rounded(t->numel());
    *t = std::move(moved);
  }
}

// Gives `t` the shape `shape`, reusing its storage when the element count already matches, so layers
// keep their output buffers across steps. Views of the old contents see the new ones.
inline void ensure_shape(Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return;
  if (t.numel() == shape.numel() && !t.empty()) {
    t = t.reshaped(shape);
    return;
  }
  t = Tensor(shape);
}

// dst = a copy of src's values, reusing dst's storage when the size fits.
inline void assign(Tensor& dst, const Tensor& src) {
  ensure_shape(dst, src.shape());
  if (!src.empty()) std::memcpy(dst.data(), src.data(), src.numel() * sizeof(float));
}

inline void require_shape(const Tensor& t, const Shape& expected, const char* what) {
  detail::require(t.shape() == expected, what, ": expected shape ", expected.str(), ", got ", t.shape().str());
}

inline void require_rank(const Tensor& t, int rank, const char* what) {
  detail::require(t.rank() == rank, what, ": expected a rank-", rank, " tensor, got shape ", t.shape().str());
}

}  // namespace pfld
