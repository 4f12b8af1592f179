// Weight averaging (stochastic weight averaging, Izmailov et al., 2018): the running mean of a network's
// weights at the ends of several epochs. Late in training the weights wander about a minimum that every
// epoch's noise pushes them around; their mean tends to sit nearer its centre than any one of them.
//
// Batch-norm statistics are averaged too. With batch norm frozen (Trainer::set_batch_norm_frozen) they
// are the same at every epoch, so the mean network is exact; otherwise the mean of the statistics is
// only an approximation of the mean network's own, which estimate_batch_norm_statistics re-estimates.
#pragma once

#include <cstddef>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../nn/layer.hpp"

namespace pfld::train {

class WeightAverage {
 public:
  // Adds `net`'s current parameters and batch-norm statistics to the mean. Every call must pass a
  // network of the same architecture.
  void add(nn::Layer& net) {
    const std::vector<Tensor*> tensors = state(net);
    if (count_ == 0) {
      mean_.clear();
      for (const Tensor* t : tensors) mean_.push_back(t->clone());
      count_ = 1;
      return;
    }
    require_same_layout(tensors);
    ++count_;
    const float share = 1.0f / static_cast<float>(count_);
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      float* mean = mean_[i].data();
      const float* x = tensors[i]->data();
      for (std::size_t j = 0; j < mean_[i].numel(); ++j) mean[j] += (x[j] - mean[j]) * share;
    }
  }

  // Networks added so far.
  int count() const { return count_; }

  // Overwrites `net`'s parameters and statistics with the mean.
  void copy_to(nn::Layer& net) const {
    detail::require(count_ > 0, "WeightAverage: nothing has been added yet");
    const std::vector<Tensor*> tensors = state(net);
    require_same_layout(tensors);
    for (std::size_t i = 0; i < tensors.size(); ++i) assign(*tensors[i], mean_[i]);
  }

  // Starts again from a mean saved elsewhere (resuming training): `net` holds the mean of `count`
  // networks.
  void restore(nn::Layer& net, int count) {
    detail::require(count >= 1, "WeightAverage: a restored mean needs a count of at least 1, got ", count);
    mean_.clear();
    for (const Tensor* t : state(net)) mean_.push_back(t->clone());
    count_ = count;
  }

 private:
  static std::vector<Tensor*> state(nn::Layer& net) {
    std::vector<Tensor*> out;
    for (auto& p : net.parameters()) out.push_back(p.value);
    for (auto& b : net.buffers()) out.push_back(b.value);
    return out;
  }

  void require_same_layout(const std::vector<Tensor*>& tensors) const {
    detail::require(tensors.size() == mean_.size(), "WeightAverage: the network has ", tensors.size(),
                    " tensors, the mean ", mean_.size());
    for (std::size_t i = 0; i < tensors.size(); ++i)
      detail::require(tensors[i]->shape() == mean_[i].shape(), "WeightAverage: tensor ", i, " is ",
                      tensors[i]->shape().str(), ", the mean's ", mean_[i].shape().str());
  }

  std::vector<Tensor> mean_;
  int count_ = 0;
};

}  // namespace pfld::train
