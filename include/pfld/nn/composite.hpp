// A layer made of named child layers: parameters, buffers, initialisation, the training flag,
// statistics averaging and batch-norm replicas are those of the children, under "child." prefixes (PyTorch's state_dict names).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "layer.hpp"

namespace pfld::nn {

class Composite : public Layer {
 public:
  Composite() = default;
  // Children are registered by address: a composite stays where it was built.
  Composite(const Composite&) = delete;
  Composite& operator=(const Composite&) = delete;

  std::vector<Parameter> parameters() override {
    std::vector<Parameter> out;
    for (auto& [name, child] : children_)
      for (auto& p : child->parameters()) out.push_back({name + "." + p.name, p.value, p.grad});
    return out;
  }

  std::vector<Buffer> buffers() override {
    std::vector<Buffer> out;
    for (auto& [name, child] : children_)
      for (auto& b : child->buffers()) out.push_back({name + "." + b.name, b.value});
    return out;
  }

  void reset_parameters(Rng& rng) override {
    for (auto& child : children_) child.second->reset_parameters(rng);
  }

  void set_training(bool training) override {
    Layer::set_training(training);
    for (auto& child : children_) child.second->set_training(training);
  }

  void set_statistics_averaging(bool on) override {
    for (auto& child : children_) child.second->set_statistics_averaging(on);
  }

  void set_batch_norm_replicas(ReplicaGroup* replicas) override {
    for (auto& child : children_) child.second->set_batch_norm_replicas(replicas);
  }

 protected:
  void register_child(std::string name, Layer& child) { children_.emplace_back(std::move(name), &child); }

 private:
  std::vector<std::pair<std::string, Layer*>> children_;
};

}  // namespace pfld::nn
