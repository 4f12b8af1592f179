// The PFLD backbone and multi-scale head (paper Table 1, as data in architecture.hpp): 112x112x3 face
// crop -> 2N landmark coordinates.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../nn/concat.hpp"
#include "../nn/global_avg_pool.hpp"
#include "../nn/linear.hpp"
#include "config.hpp"
#include "conv_bn_act.hpp"
#include "inverted_residual.hpp"

namespace pfld::model {

class PfldNet : public nn::Composite {
 public:
  explicit PfldNet(const ModelConfig& config) : PfldNet(config, PfldArchitecture(config)) {}

  const ModelConfig& config() const { return config_; }
  int feature_channels() const { return config_.scaled(64); }

  // images (M, 112, 112, 3) -> landmarks (M, 2N) as x0, y0, x1, y1, ... in crop units ([0, 1] inside).
  const Tensor& forward(const Tensor& images) override {
    const int s = config_.input_size;
    detail::require(images.rank() == 4 && images.dim(1) == s && images.dim(2) == s && images.dim(3) == 3,
                    "PfldNet: input ", images.shape().str(), " is not (batch, ", s, ", ", s, ", 3)");
    const Tensor* x = &conv2_.forward(conv1_.forward(images));
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      x = &blocks_[i]->forward(*x);
      if (i == features_block_) features_ = *x;
    }
    const Tensor& s1 = pool_s1_.forward(*x);
    const Tensor& out7 = conv7_.forward(*x);
    const Tensor& s2 = pool_s2_.forward(out7);
    const Tensor& s3 = conv8_.forward(out7);
    return fc_.forward(concat_.forward({s1, s2, s3}));
  }

  // The stage-3 output (M, 28, 28, 64w) of the last forward: the auxiliary net's input.
  const Tensor& features() const { return features_; }

  const Tensor& backward(const Tensor& d_landmarks) override { return backward(d_landmarks, nullptr); }

  // d_features, when given, is the auxiliary net's gradient with respect to features(); it joins the
  // landmark gradient there. Returns the gradient with respect to the images.
  const Tensor& backward(const Tensor& d_landmarks, const Tensor* d_features) {
    const std::vector<Tensor>& d_scales = concat_.backward(fc_.backward(d_landmarks));
    assign(d_out7_, conv8_.backward(d_scales[2]));
    nn::accumulate(d_out7_, pool_s2_.backward(d_scales[1]));
    assign(d_out6_, conv7_.backward(d_out7_));
    nn::accumulate(d_out6_, pool_s1_.backward(d_scales[0]));
    const Tensor* g = &d_out6_;
    for (std::size_t i = blocks_.size(); i-- > 0;) {
      if (i == features_block_ && d_features) {
        require_shape(*d_features, features_.shape(), "PfldNet backward: feature gradient");
        assign(d_features_sum_, *g);
        nn::accumulate(d_features_sum_, *d_features);
        g = &d_features_sum_;
      }
      g = &blocks_[i]->backward(*g);
    }
    return conv1_.backward(conv2_.backward(*g));
  }

  // He initialisation throughout, except the landmark layer: small weights and a 0.5 bias, so training
  // starts from "every point at the crop centre" instead of from outputs of several crop widths.
  void reset_parameters(Rng& rng) override {
    nn::Composite::reset_parameters(rng);
    for (float& w : fc_.weight()) w *= 0.1f;
    fc_.bias().fill(0.5f);
  }

  // The layers, in order, for the inference graph builder.
  ConvBnAct& conv1() { return conv1_; }
  ConvBnAct& conv2() { return conv2_; }
  std::size_t block_count() const { return blocks_.size(); }
  InvertedResidual& block(std::size_t i) { return *blocks_.at(i); }
  ConvBnAct& conv7() { return conv7_; }
  ConvBnAct& conv8() { return conv8_; }
  nn::Linear& fc() { return fc_; }

  std::size_t parameter_count() {
    std::size_t n = 0;
    for (auto& p : parameters()) n += p.value->numel();
    return n;
  }

 private:
  PfldNet(const ModelConfig& config, const PfldArchitecture& a)
      : config_(config), conv1_(a.conv1), conv2_(a.conv2), features_block_(a.features_block), conv7_(a.conv7),
        conv8_(a.conv8), fc_(a.fc_in, a.fc_out) {
    register_child(a.conv1.name, conv1_);
    register_child(a.conv2.name, conv2_);
    for (const BottleneckUnit& unit : a.blocks) {
      blocks_.push_back(std::make_unique<InvertedResidual>(unit));
      register_child(unit.name, *blocks_.back());
    }
    register_child(a.conv7.name, conv7_);
    register_child(a.conv8.name, conv8_);
    register_child("fc", fc_);
  }

  ModelConfig config_;
  ConvBnAct conv1_, conv2_;
  std::vector<std::unique_ptr<InvertedResidual>> blocks_;
  std::size_t features_block_ = 0;
  ConvBnAct conv7_, conv8_;
  nn::GlobalAvgPool pool_s1_, pool_s2_;
  nn::Concat concat_;
  nn::Linear fc_;
  Tensor features_, d_out7_, d_out6_, d_features_sum_;
};

// The network's parameters and batch-norm statistics by the names of the description
// (PfldArchitecture::tensors); the lookup refers to `net`, which must outlive it.
inline PfldTensorLookup tensors_of(PfldNet& net) {
  auto by_name = std::make_shared<std::map<std::string, const Tensor*>>();
  for (const auto& p : net.parameters()) (*by_name)[p.name] = p.value;
  for (const auto& b : net.buffers()) (*by_name)[b.name] = b.value;
  return [by_name](const std::string& name) -> const Tensor& {
    const auto it = by_name->find(name);
    detail::require(it != by_name->end(), "PfldNet: no tensor '", name, "'");
    return *it->second;
  };
}

}  // namespace pfld::model
