// The training-path layer interface: forward over a batch, backward, parameters with gradients.
#pragma once

#include <string>
#include <vector>

#include "../core/replica_group.hpp"
#include "../core/rng.hpp"
#include "../core/tensor.hpp"

namespace pfld::nn {

// A trained tensor and its gradient, named as in PyTorch ("weight", "bias") for checkpoints and ONNX.
struct Parameter {
  std::string name;
  Tensor* value;
  Tensor* grad;
};

// State that is saved but not trained, such as batch-norm running statistics.
struct Buffer {
  std::string name;
  Tensor* value;
};

// A layer with one input and one output. Ensures of every implementation:
// - forward(x) computes the output, keeps what backward needs (x itself is kept as a view, not copied),
//   and returns a tensor the layer owns, valid until the next forward;
// - backward(dy), with dy = d loss / d output of the last forward, returns d loss / d input (owned by the
//   layer) and *adds* d loss / d parameter into each parameter's grad, so gradients accumulate until
//   zero_grad();
// - bad shapes are a pfld::Error naming the layer and the shapes.
class Layer {
 public:
  virtual ~Layer() = default;

  virtual const Tensor& forward(const Tensor& x) = 0;
  virtual const Tensor& backward(const Tensor& dy) = 0;

  virtual std::vector<Parameter> parameters() { return {}; }
  virtual std::vector<Buffer> buffers() { return {}; }
  // Draws fresh initial weights (He initialisation for convolutions and FC layers).
  virtual void reset_parameters(Rng&) {}

  // Training mode (the default) versus eval mode; only batch norm behaves differently.
  virtual void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }

  // While on, training-mode forwards make batch norm's running statistics the plain average of the
  // batches seen since it was turned on, instead of an exponential moving average (see
  // train/batch_norm_statistics.hpp). Other layers have no statistics and ignore it.
  virtual void set_statistics_averaging(bool) {}

  // Synchronised batch norm in a data-parallel run: training-mode batch norm normalises with the
  // statistics of every replica's batch (kernels/batch_norm.hpp); null: this replica's batch alone.
  // The group must outlive the layer's use of it. Other layers ignore it.
  virtual void set_batch_norm_replicas(ReplicaGroup*) {}

  void zero_grad() {
    for (auto& p : parameters()) p.grad->zero();
  }

 protected:
  bool training_ = true;
};

// The sum of two gradients that reach one tensor by two paths (a residual shortcut, a branch).
inline void accumulate(Tensor& into, const Tensor& add) {
  detail::require(into.shape() == add.shape(), "accumulate: shapes differ, ", into.shape().str(), " vs ",
                  add.shape().str());
  for (std::size_t i = 0; i < into.numel(); ++i) into[i] += add[i];
}

// Puts a layer in eval mode for a scope (validation) and restores training mode after it.
class EvalModeScope {
 public:
  explicit EvalModeScope(Layer& layer) : layer_(layer), was_training_(layer.training()) { layer_.set_training(false); }
  ~EvalModeScope() { layer_.set_training(was_training_); }
  EvalModeScope(const EvalModeScope&) = delete;
  EvalModeScope& operator=(const EvalModeScope&) = delete;

 private:
  Layer& layer_;
  bool was_training_;
};

}  // namespace pfld::nn
