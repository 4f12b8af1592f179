// A face turned in the image plane (roll), with its landmarks: how pfld_eval --roll measures what a
// tilted head costs a model.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "crop.hpp"
#include "image.hpp"
#include "landmarks.hpp"

namespace pfld {
inline namespace data {

struct TurnedFace {
  Image image;          // RGB
  Landmarks landmarks;  // in the turned image's pixels
};

// The image turned by `degrees` (counter-clockwise as seen) about `centre`, resampled (bilinear) onto a
// square canvas centred there whose side is the image's longer one, and the landmarks turned with it.
// Parts of the canvas the image does not cover are black.
inline TurnedFace turn_face(const ImageView& image, const Landmarks& landmarks, Point centre, float degrees) {
  detail::require(!image.empty(), "turn_face: the image is empty");
  require_finite(landmarks, "turn_face");
  detail::require(std::isfinite(centre.x) && std::isfinite(centre.y) && std::isfinite(degrees), "turn_face: centre (",
                  centre.x, ", ", centre.y, ") or angle ", degrees, " is not finite");
  const int side = std::max(image.width, image.height);
  // The canvas is a crop of the image whose frame is turned the other way.
  const CropTransform frame = CropTransform::square(centre.x, centre.y, static_cast<float>(side), side,
                                                    -degrees * 0.017453292519943295f);
  std::vector<float> rgb(static_cast<std::size_t>(side) * side * 3);
  frame.warp(image, rgb.data(), 1.0f);
  TurnedFace out;
  out.image = Image(side, side);
  for (std::size_t i = 0; i < rgb.size(); ++i)
    out.image.pixels[i] = static_cast<std::uint8_t>(std::lround(std::clamp(rgb[i], 0.0f, 255.0f)));
  for (const Point& p : landmarks) out.landmarks.push_back(frame.image_to_crop(p));
  return out;
}

}  // namespace data
}  // namespace pfld
