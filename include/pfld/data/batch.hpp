// A batch of training faces: what BatchLoader makes and Trainer::step consumes.
#pragma once

#include "../core/tensor.hpp"

namespace pfld {
inline namespace data {

struct Batch {
  Tensor images;      // (M, 112, 112, 3), scaled as the network expects
  Tensor landmarks;   // (M, 2N), crop units
  Tensor pose;        // (M, 3) yaw, pitch, roll in radians; may be empty when the loss ignores pose
  Tensor attributes;  // (M, C) 0/1 class flags; may be empty when the loss ignores classes
};

}  // namespace data
}  // namespace pfld
