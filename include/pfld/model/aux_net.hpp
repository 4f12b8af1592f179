// The auxiliary pose net (paper Table 2), used in training only: from the backbone's 28x28 stage-3
// features to (yaw, pitch, roll) in radians.
//
//   conv1 3x3/2 128, conv2 3x3 128, conv3 3x3/2 32, conv4 7x7 valid 128 (each + BN + act) -> 1x1x128
//   fc1 128 -> 32 + ReLU, fc2 32 -> 3
// The valid 7x7 convolution of the 7x7 map already yields 1x1, the design's "max pool to 1x1". The
// ReLU between the two FC layers keeps them from collapsing into one linear map.
#pragma once

#include "../nn/activation.hpp"
#include "../nn/linear.hpp"
#include "config.hpp"
#include "conv_bn_act.hpp"

namespace pfld::model {

class AuxNet : public nn::Composite {
 public:
  explicit AuxNet(const ModelConfig& config)
      : in_channels_(config.scaled(64)),
        conv1_(in_channels_, 128, 3, 2, 1, 1, config.activation),
        conv2_(128, 128, 3, 1, 1, 1, config.activation),
        conv3_(128, 32, 3, 2, 1, 1, config.activation),
        conv4_(32, 128, 7, 1, 0, 1, config.activation),
        fc1_(128, 32),
        relu_(Activation::relu),
        fc2_(32, 3) {
    register_child("conv1", conv1_);
    register_child("conv2", conv2_);
    register_child("conv3", conv3_);
    register_child("conv4", conv4_);
    register_child("fc1", fc1_);
    register_child("fc2", fc2_);
  }

  // features (M, 28, 28, 64w) -> pose (M, 3): yaw, pitch, roll in radians.
  const Tensor& forward(const Tensor& features) override {
    detail::require(features.rank() == 4 && features.dim(1) == 28 && features.dim(2) == 28 &&
                        features.dim(3) == in_channels_,
                    "AuxNet: input ", features.shape().str(), " is not (batch, 28, 28, ", in_channels_, ")");
    const Tensor& x = conv4_.forward(conv3_.forward(conv2_.forward(conv1_.forward(features))));
    return fc2_.forward(relu_.forward(fc1_.forward(x)));
  }

  const Tensor& backward(const Tensor& d_pose) override {
    const Tensor& g = fc1_.backward(relu_.backward(fc2_.backward(d_pose)));
    return conv1_.backward(conv2_.backward(conv3_.backward(conv4_.backward(g))));
  }

 private:
  int in_channels_;
  ConvBnAct conv1_, conv2_, conv3_, conv4_;
  nn::Linear fc1_;
  nn::ActivationLayer relu_;
  nn::Linear fc2_;
};

}  // namespace pfld::model
