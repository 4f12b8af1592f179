// Training crops with online augmentation: rotation, scale, shift, mirror (with the landmark mirror
// map), colour jitter and occlusion patches, all drawn from a caller-seeded Rng so a crop is a pure
// function of (face, options, seed).
#pragma once

#include <algorithm>
#include <cmath>

#include "../core/rng.hpp"
#include "crop.hpp"
#include "dataset.hpp"
#include "head_pose.hpp"
#include "mirror.hpp"

namespace pfld {
inline namespace data {

struct AugmentOptions {
  bool enabled = true;
  float rotation_deg = 30.0f;       // uniform in [-r, r]
  float scale_min = 0.9f;           // face size in the crop, relative to the standard crop
  float scale_max = 1.1f;
  float shift = 0.1f;               // centre shift, uniform in [-s, s] of the crop side, per axis
  float flip_probability = 0.5f;
  float brightness = 0.2f;          // added, uniform in [-b, b] (pixel values in [0, 1])
  float contrast = 0.3f;            // factor in [1 - c, 1 + c] around the crop's mean
  float saturation = 0.3f;          // blend with grey, factor in [1 - s, 1 + s]
  // Probability of a crop turned grey (saturation 0), so that colour faces also come in the greyscale of
  // a set of grey photos trained with them (LFW); 0 draws nothing.
  float grey_probability = 0.0f;
  float occlusion_probability = 0.3f;
  float occlusion_max = 0.4f;       // largest patch side, as a fraction of the crop side
  float box_scale = 1.2f;           // the standard crop: this times the face box's longer side
};

// Where one crop lands: its transform and labels.
struct CropLabels {
  CropTransform transform;
  Landmarks labels;  // normalised crop coordinates
  HeadPose pose;
};

// Draws the geometric augmentation for `face` (or the standard crop when options.enabled is false).
inline CropLabels crop_geometry(const Face& face, const AugmentOptions& options, const MirrorMap* mirror, Rng& rng,
                                int size = 112) {
  float cx = face.box.center_x(), cy = face.box.center_y();
  float side = std::max(face.box.width, face.box.height) * options.box_scale;
  float angle = 0.0f;
  bool flip = false;
  if (options.enabled) {
    angle = rng.uniform(-options.rotation_deg, options.rotation_deg) * 0.017453292519943295f;
    const float base = side;
    side /= rng.uniform(options.scale_min, options.scale_max);
    cx += rng.uniform(-options.shift, options.shift) * base;
    cy += rng.uniform(-options.shift, options.shift) * base;
    flip = rng.bernoulli(options.flip_probability);
    detail::require(!flip || (mirror && mirror->size() == face.landmarks.size()), face.source,
                    ": flipping needs a mirror map for ", face.landmarks.size(), " landmarks");
  }
  CropLabels out;
  out.transform = CropTransform::square(cx, cy, side, size, angle, flip);
  Landmarks crop_pixels;
  for (std::size_t i = 0; i < face.landmarks.size(); ++i) {
    const std::size_t src = flip ? static_cast<std::size_t>((*mirror)[i]) : i;
    out.labels.push_back(out.transform.image_to_label(face.landmarks[src]));
    crop_pixels.push_back(out.transform.image_to_crop(face.landmarks[src]));
  }
  out.pose = (crop_pixels.size() == 68 || crop_pixels.size() == 98) ? estimate_head_pose(crop_pixels, size)
                                                                      : HeadPose{};
  return out;
}

// Colour jitter and an occlusion patch on an S x S x 3 crop with values in [0, 1].
inline void jitter_pixels(float* crop, int size, const AugmentOptions& options, Rng& rng) {
  if (!options.enabled) return;
  const std::size_t pixels = static_cast<std::size_t>(size) * size;
  const float brightness = rng.uniform(-options.brightness, options.brightness);
  const float contrast = rng.uniform(1.0f - options.contrast, 1.0f + options.contrast);
  float saturation = rng.uniform(1.0f - options.saturation, 1.0f + options.saturation);
  if (options.grey_probability > 0.0f && rng.bernoulli(options.grey_probability)) saturation = 0.0f;
  double mean = 0.0;
  for (std::size_t i = 0; i < pixels * 3; ++i) mean += crop[i];
  const float m = static_cast<float>(mean / static_cast<double>(pixels * 3));
  for (std::size_t p = 0; p < pixels; ++p) {
    float* rgb = crop + p * 3;
    const float grey = 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
    for (int c = 0; c < 3; ++c) {
      float v = grey + (rgb[c] - grey) * saturation;
      v = (v - m) * contrast + m + brightness;
      rgb[c] = std::min(1.0f, std::max(0.0f, v));
    }
  }
  if (rng.bernoulli(options.occlusion_probability)) {
    const int max_side = std::max(1, static_cast<int>(options.occlusion_max * static_cast<float>(size)));
    const int w = 1 + static_cast<int>(rng.below(static_cast<std::uint32_t>(max_side)));
    const int h = 1 + static_cast<int>(rng.below(static_cast<std::uint32_t>(max_side)));
    const int x0 = static_cast<int>(rng.below(static_cast<std::uint32_t>(size - w + 1)));
    const int y0 = static_cast<int>(rng.below(static_cast<std::uint32_t>(size - h + 1)));
    const float colour[3] = {rng.uniform(), rng.uniform(), rng.uniform()};
    for (int y = y0; y < y0 + h; ++y)
      for (int x = x0; x < x0 + w; ++x)
        for (int c = 0; c < 3; ++c) crop[(static_cast<std::size_t>(y) * size + x) * 3 + c] = colour[c];
  }
}

// One training sample: the crop's pixels (S x S x 3 in [0, 1]), its 2N labels and its pose (yaw, pitch,
// roll). Deterministic in rng's state.
inline CropLabels make_training_crop(const Face& face, const AugmentOptions& options, const MirrorMap* mirror,
                                     Rng& rng, int size, float* pixels, float* labels, float* pose) {
  CropLabels geometry = crop_geometry(face, options, mirror, rng, size);
  geometry.transform.warp(face.image.view(), pixels);
  jitter_pixels(pixels, size, options, rng);
  for (std::size_t i = 0; i < geometry.labels.size(); ++i) {
    labels[2 * i] = geometry.labels[i].x;
    labels[2 * i + 1] = geometry.labels[i].y;
  }
  pose[0] = geometry.pose.yaw, pose[1] = geometry.pose.pitch, pose[2] = geometry.pose.roll;
  return geometry;
}

}  // namespace data
}  // namespace pfld
