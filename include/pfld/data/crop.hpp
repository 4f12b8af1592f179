// The face crop: a square region of the image warped (bilinear, zeros outside) into the network's
// S x S input, and the map between crop and image coordinates.
//
// A crop pixel (u, v) (centre convention, 0..S-1) sits at image point M * (u, v, 1). Network labels are
// normalised crop coordinates: label = (u + 0.5) / S, so 0 and 1 are the crop's outer edges.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../core/compilation.hpp"
#include "../core/cpu.hpp"
#if PFLD_DEFINE_ENTRIES
#include "../kernels/warp.hpp"
#endif
#include "image.hpp"
#include "landmarks.hpp"

namespace pfld {
inline namespace data {

// Where a face's landmarks lie, as a face detector estimates it: the square around their bounding box
// as seen in a frame turned by `angle` (the face's roll; CropTransform::square's convention), so that a
// crop of it can stand the face upright from the first run. A Box is the unturned case.
struct FaceRegion {
  Point centre;
  float side = 0.0f;   // the longer side of the landmarks' box in the turned frame, image pixels
  float angle = 0.0f;  // radians

  // The square of a landmark box's longer side, unturned.
  static FaceRegion from_box(const Box& box) {
    box.validate("face region");
    return {{box.center_x(), box.center_y()}, std::max(box.width, box.height), 0.0f};
  }

  // The axis-aligned box around the turned square (for drawing, and the check against the image).
  Box bounds() const {
    const float half = 0.5f * side * (std::abs(std::cos(angle)) + std::abs(std::sin(angle)));
    return {centre.x - half, centre.y - half, 2 * half, 2 * half};
  }

  void validate(const char* what) const {
    detail::require(std::isfinite(centre.x) && std::isfinite(centre.y) && std::isfinite(side) && std::isfinite(angle),
                    what, ": face region has a non-finite value");
    detail::require(side > 0, what, ": face region side ", side, " is not positive");
  }
};

class CropTransform {
 public:
  CropTransform() = default;

  // The crop of side S whose square has centre (cx, cy) and side `side` (image pixels), turned by
  // `angle` radians (counter-clockwise as seen in the image), mirrored left-right when `mirror`.
  static CropTransform square(float cx, float cy, float side, int size, float angle = 0.0f, bool mirror = false) {
    detail::require(std::isfinite(cx) && std::isfinite(cy) && std::isfinite(side) && side > 0 && size > 0,
                    "crop: bad square centre (", cx, ", ", cy, ") side ", side);
    CropTransform t;
    t.size_ = size;
    const double scale = static_cast<double>(side) / size;
    const double c = std::cos(angle) * scale, s = std::sin(angle) * scale;
    const double flip = mirror ? -1.0 : 1.0;
    // Crop offsets from its centre, (du, dv), map to the image as R(angle) * (flip * du, dv) * scale.
    t.m_[0] = c * flip, t.m_[1] = s, t.m_[3] = -s * flip, t.m_[4] = c;
    const double half = (size - 1) / 2.0;  // the crop's centre in pixel-centre coordinates
    t.m_[2] = cx - (t.m_[0] * half + t.m_[1] * half);
    t.m_[5] = cy - (t.m_[3] * half + t.m_[4] * half);
    t.update_inverse();
    return t;
  }

  // The standard crop of a face box: the square of `scale` times its longer side, centred on it.
  static CropTransform from_box(const Box& box, int size, float scale = 1.2f, bool mirror = false) {
    box.validate("crop");
    return square(box.center_x(), box.center_y(), std::max(box.width, box.height) * scale, size, 0.0f, mirror);
  }

  // The standard crop of a face region: the square of `scale` times its side, turned by its angle.
  static CropTransform from_region(const FaceRegion& region, int size, float scale = 1.2f) {
    region.validate("crop");
    return square(region.centre.x, region.centre.y, region.side * scale, size, region.angle);
  }

  // The standard crop of `points` as seen in a frame turned by `angle` (square()'s convention):
  // from_region(landmark_region(points, angle)). With upright_angle(points) the face stands upright.
  static CropTransform around(const Landmarks& points, int size, float scale = 1.2f, float angle = 0.0f);

  // The same square mirrored left-right: the crop of the face's mirror image.
  CropTransform mirrored() const {
    CropTransform t = *this;
    // The centre stays where it is; the crop's x axis turns around.
    const double half = (size_ - 1) / 2.0;
    t.m_[0] = -m_[0], t.m_[3] = -m_[3];
    t.m_[2] = m_[2] + 2 * m_[0] * half;
    t.m_[5] = m_[5] + 2 * m_[3] * half;
    t.update_inverse();
    return t;
  }

  int size() const { return size_; }
  float scale() const { return static_cast<float>(std::hypot(m_[0], m_[3])); }  // image pixels per crop pixel

  Point crop_to_image(Point p) const {
    return {static_cast<float>(m_[0] * p.x + m_[1] * p.y + m_[2]), static_cast<float>(m_[3] * p.x + m_[4] * p.y + m_[5])};
  }
  Point image_to_crop(Point p) const {
    return {static_cast<float>(inv_[0] * p.x + inv_[1] * p.y + inv_[2]),
            static_cast<float>(inv_[3] * p.x + inv_[4] * p.y + inv_[5])};
  }
  // Normalised labels <-> image points.
  Point label_to_image(Point label) const {
    const float s = static_cast<float>(size_);
    return crop_to_image({label.x * s - 0.5f, label.y * s - 0.5f});
  }
  Point image_to_label(Point p) const {
    const Point c = image_to_crop(p);
    return {(c.x + 0.5f) / static_cast<float>(size_), (c.y + 0.5f) / static_cast<float>(size_)};
  }

  // Bilinear warp of the image into out (S x S x 3, RGB, times `value_scale`); zeros outside the image.
  // `isa` picks the path: on AVX2 (and AVX-512) three-channel images are sampled in vectors of eight
  // pixels (kernels/warp_simd.inc; equal to the scalar path within a float's last bit): a turned crop
  // then costs what an unturned one does (pfld_bench warp/... against warp_ref/...).
  void warp(const ImageView& image, float* out, float value_scale = 1.0f / 255.0f, Isa isa = active_isa()) const;

 private:
  static constexpr int kMaxAlignedSize = 1024;

  // One coordinate of a sample: the pixel before it, the weight of the one after, and whether both are
  // inside an image `extent` pixels wide (or high). No member initializers: warp's column table is
  // filled by at() and would otherwise be zeroed first on every call.
  struct Tap {
    int i0;
    float a;
    bool inside;

    static Tap at(double t, int extent) {
      // floor by truncation (std::floor is a library call on baseline x86-64), far-off points clamped
      const double tc = std::min(std::max(t, -1e6), 1e6);
      Tap tap;
      tap.i0 = static_cast<int>(tc) - (tc < static_cast<int>(tc) ? 1 : 0);
      tap.a = static_cast<float>(tc - tap.i0);
      tap.inside = tap.i0 >= 0 && tap.i0 + 1 < extent;
      return tap;
    }
  };

  // Bilinear samples of one image as RGB floats.
  struct Sampler {
    const ImageView& image;
    float scale;
    int channels, at[3];  // where the format's R, G, B sit in a pixel (grey: all at 0)

    Sampler(const ImageView& view, float value_scale) : image(view), scale(value_scale), channels(view.channels()) {
      at[0] = image.format == PixelFormat::bgr ? 2 : 0;
      at[1] = channels == 1 ? 0 : 1;
      at[2] = image.format == PixelFormat::rgb ? 2 : 0;
    }

    // All four neighbours inside: the common case, read straight from the rows.
    void interior(int x0, int y0, float ax, float ay, float* o) const {
      const std::uint8_t* p0 = image.row(y0) + static_cast<std::ptrdiff_t>(x0) * channels;
      const std::uint8_t* p1 = p0 + image.stride;
      const float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
      for (int c = 0; c < 3; ++c) {
        const int k = at[c];
        o[c] = (w00 * p0[k] + w01 * p0[k + channels] + w10 * p1[k] + w11 * p1[k + channels]) * scale;
      }
    }

    // Some neighbours outside: those count as zero.
    void border(int x0, int y0, float ax, float ay, float* o) const {
      float acc[3] = {0, 0, 0};
      const int xs[2] = {x0, x0 + 1}, ys[2] = {y0, y0 + 1};
      const float wx[2] = {1 - ax, ax}, wy[2] = {1 - ay, ay};
      for (int j = 0; j < 2; ++j) {
        if (ys[j] < 0 || ys[j] >= image.height || wy[j] == 0.0f) continue;
        for (int i = 0; i < 2; ++i) {
          if (xs[i] < 0 || xs[i] >= image.width || wx[i] == 0.0f) continue;
          float rgb[3] = {0.0f, 0.0f, 0.0f};
          image.rgb(xs[i], ys[j], rgb);
          const float w = wx[i] * wy[j];
          for (int c = 0; c < 3; ++c) acc[c] += w * rgb[c];
        }
      }
      for (int c = 0; c < 3; ++c) o[c] = acc[c] * scale;
    }
  };

  // Crop pixel (u, v), sampled on its own.
  void sample(const Sampler& sampler, int u, int v, float* o) const {
    const Tap x = Tap::at(m_[0] * u + m_[1] * v + m_[2], sampler.image.width);
    const Tap y = Tap::at(m_[3] * u + m_[4] * v + m_[5], sampler.image.height);
    if (x.inside && y.inside)
      sampler.interior(x.i0, y.i0, x.a, y.a, o);
    else
      sampler.border(x.i0, y.i0, x.a, y.a, o);
  }

  void update_inverse() {
    const double det = m_[0] * m_[4] - m_[1] * m_[3];
    inv_[0] = m_[4] / det, inv_[1] = -m_[1] / det, inv_[3] = -m_[3] / det, inv_[4] = m_[0] / det;
    inv_[2] = -(inv_[0] * m_[2] + inv_[1] * m_[5]);
    inv_[5] = -(inv_[3] * m_[2] + inv_[4] * m_[5]);
  }

  double m_[6] = {1, 0, 0, 0, 1, 0};
  double inv_[6] = {1, 0, 0, 0, 1, 0};
  int size_ = 112;
};

// The region of `points` in a frame turned by `angle`: the square of the longer side of their box in that
// frame, centred on that box. With angle 0 it is FaceRegion::from_box(bounding_box(points)).
inline FaceRegion landmark_region(const Landmarks& points, float angle = 0.0f) {
  require_finite(points, "landmark region");
  detail::require(!points.empty(), "landmark region: no landmarks");
  if (angle == 0.0f) return FaceRegion::from_box(bounding_box(points));
  // The turned frame's x axis runs along (c, -s) in the image, its y axis along (s, c).
  const double c = std::cos(angle), s = std::sin(angle);
  double a0 = HUGE_VAL, a1 = -HUGE_VAL, b0 = HUGE_VAL, b1 = -HUGE_VAL;
  for (const Point& p : points) {
    const double a = p.x * c - p.y * s, b = p.x * s + p.y * c;
    a0 = std::min(a0, a), a1 = std::max(a1, a), b0 = std::min(b0, b), b1 = std::max(b1, b);
  }
  const double am = 0.5 * (a0 + a1), bm = 0.5 * (b0 + b1);
  return {{static_cast<float>(am * c + bm * s), static_cast<float>(bm * c - am * s)},
          static_cast<float>(std::max(a1 - a0, b1 - b0)), angle};
}

inline CropTransform CropTransform::around(const Landmarks& points, int size, float scale, float angle) {
  return from_region(landmark_region(points, angle), size, scale);
}

// The angle (square()'s convention) that turns a crop so that the line from the image-left eye to the
// other is level in it: the face's roll in the image.
inline float upright_angle(Point left_eye, Point right_eye) {
  return static_cast<float>(std::atan2(-(right_eye.y - left_eye.y), right_eye.x - left_eye.x));
}

// The same from a face's landmarks (68 or 98 points: eye_centres).
inline float upright_angle(const Landmarks& points) {
  Point left, right;
  detail::require(eye_centres(points, left, right), "upright_angle: no eyes known for ", points.size(), " landmarks");
  return upright_angle(left, right);
}

#if PFLD_DEFINE_ENTRIES
PFLD_ENTRY void CropTransform::warp(const ImageView& image, float* out, float value_scale, Isa isa) const {
  image.validate("crop");
  const Sampler sampler(image, value_scale);
  if (image.channels() == 3) {
    WarpGeometry g;
    g.pixels = image.data, g.stride = image.stride, g.width = image.width, g.height = image.height;
    g.r = sampler.at[0], g.g = sampler.at[1], g.b = sampler.at[2];
    g.m = m_, g.size = size_, g.scale = value_scale, g.out = out;
    if (kernels::warp_supported(isa, g)) {
      kernels::warp_rgb(g, [&](int u, int v, float* o) { sample(sampler, u, v, o); });
      return;
    }
  }
  // Without rotation (the detector's crops), a crop column samples the same image column on every row:
  // its coordinate, bounds and weight are worked out once per column, not once per pixel.
  if (m_[1] == 0.0 && m_[3] == 0.0 && size_ <= kMaxAlignedSize) {
    Tap column[kMaxAlignedSize];
    for (int u = 0; u < size_; ++u) column[u] = Tap::at(m_[0] * u + m_[2], image.width);
    for (int v = 0; v < size_; ++v) {
      const Tap row = Tap::at(m_[4] * v + m_[5], image.height);
      float* o = out + static_cast<std::size_t>(v) * size_ * 3;
      for (int u = 0; u < size_; ++u, o += 3) {
        if (row.inside && column[u].inside)
          sampler.interior(column[u].i0, row.i0, column[u].a, row.a, o);
        else
          sampler.border(column[u].i0, row.i0, column[u].a, row.a, o);
      }
    }
    return;
  }
  for (int v = 0; v < size_; ++v)
    for (int u = 0; u < size_; ++u) sample(sampler, u, v, out + (static_cast<std::size_t>(v) * size_ + u) * 3);
}
#endif

}  // namespace data
}  // namespace pfld
