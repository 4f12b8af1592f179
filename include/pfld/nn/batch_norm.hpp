// Batch normalisation over the channels of NHWC batches (or the features of (N, C) matrices), with an
// optional activation fused in (one pass over memory instead of two, forward and backward).
#pragma once

#include "../core/cpu.hpp"
#include "../kernels/batch_norm.hpp"
#include "../kernels/ref/batch_norm.hpp"
#include "../kernels/ref/elementwise.hpp"
#include "layer.hpp"

namespace pfld::nn {

class BatchNorm : public Layer {
 public:
  // momentum and eps as in PyTorch: running = (1 - momentum) * running + momentum * batch statistic,
  // with the unbiased batch variance for running_var.
  explicit BatchNorm(int channels, float momentum = 0.1f, float eps = 1e-5f, Activation act = Activation::identity)
      : channels_(channels), momentum_(momentum), eps_(eps), act_(act) {
    detail::require(channels > 0, "BatchNorm: channel count must be positive, got ", channels);
    for (Tensor* t : {&gamma_, &beta_, &gamma_grad_, &beta_grad_, &running_mean_, &running_var_, &batch_mean_,
                      &batch_var_, &batch_inv_std_})
      *t = Tensor(Shape{channels});
    reset_parameters_and_statistics();
  }

  int channels() const { return channels_; }
  float eps() const { return eps_; }
  float momentum() const { return momentum_; }
  Activation activation() const { return act_; }
  Tensor& gamma() { return gamma_; }
  Tensor& beta() { return beta_; }
  Tensor& running_mean() { return running_mean_; }
  Tensor& running_var() { return running_var_; }

  const Tensor& forward(const Tensor& x) override {
    detail::require(x.rank() >= 2 && x.shape().back() == channels_, "BatchNorm(", channels_, "): input ",
                    x.shape().str(), " does not end in ", channels_, " channels");
    const std::size_t rows = x.numel() / static_cast<std::size_t>(channels_);
    ensure_shape(output_, x.shape());
    const bool reference = active_isa() == Isa::ref;
    if (training_) {
      detail::require(rows > 1, "BatchNorm(", channels_, "): training needs more than one value per channel, input ",
                      x.shape().str());
      if (reference && !replicas_) {
        batch_rows_ = rows;
        kernels::ref::batch_norm_forward_train(rows, channels_, x.data(), gamma_.data(), beta_.data(), eps_,
                                               output_.data(), batch_mean_.data(), batch_var_.data(),
                                               batch_inv_std_.data());
        kernels::ref::activation_forward(act_, output_.numel(), output_.data(), output_.data());
      } else {
        batch_rows_ = kernels::batch_norm_train_forward(active_isa(), rows, channels_, x.data(), gamma_.data(), beta_.data(),
                                                        eps_, act_, output_.data(), batch_mean_.data(), batch_var_.data(),
                                                        batch_inv_std_.data(), scratch_, &default_thread_pool(), replicas_);
      }
      const float unbias = static_cast<float>(batch_rows_) / static_cast<float>(batch_rows_ - 1);
      // Averaging: the n-th batch since it began weighs 1 / n, which makes the running values the mean.
      const float w = averaged_batches_ >= 0 ? 1.0f / static_cast<float>(++averaged_batches_) : momentum_;
      for (int c = 0; c < channels_; ++c) {
        running_mean_[c] = (1.0f - w) * running_mean_[c] + w * batch_mean_[c];
        running_var_[c] = (1.0f - w) * running_var_[c] + w * batch_var_[c] * unbias;
      }
    } else if (reference) {
      kernels::ref::batch_norm_forward_eval(rows, channels_, x.data(), gamma_.data(), beta_.data(),
                                            running_mean_.data(), running_var_.data(), eps_, output_.data());
      kernels::ref::activation_forward(act_, output_.numel(), output_.data(), output_.data());
    } else {
      kernels::batch_norm_eval_forward(active_isa(), rows, channels_, x.data(), gamma_.data(), beta_.data(),
                                       running_mean_.data(), running_var_.data(), eps_, act_, output_.data(), scratch_,
                                       &default_thread_pool());
    }
    input_ = x;
    input_was_training_ = training_;
    return output_;
  }

  const Tensor& backward(const Tensor& dy) override {
    require_shape(dy, output_.shape(), "BatchNorm backward: gradient");
    const std::size_t rows = input_.numel() / static_cast<std::size_t>(channels_);
    ensure_shape(input_grad_, input_.shape());
    if (input_was_training_ && (active_isa() != Isa::ref || replicas_)) {
      kernels::batch_norm_train_backward(active_isa(), rows, channels_, input_.data(), output_.data(), dy.data(),
                                         gamma_.data(), batch_mean_.data(), batch_inv_std_.data(), act_,
                                         input_grad_.data(), gamma_grad_.data(), beta_grad_.data(), scratch_,
                                         &default_thread_pool(), replicas_, batch_rows_);
      return input_grad_;
    }
    // The activation's slope, read from the output (clamped exactly where the input was).
    const float* d_normalised = dy.data();
    if (act_ != Activation::identity) {
      ensure_shape(masked_grad_, dy.shape());
      kernels::ref::activation_backward(act_, dy.numel(), output_.data(), dy.data(), masked_grad_.data());
      d_normalised = masked_grad_.data();
    }
    if (input_was_training_)
      kernels::ref::batch_norm_backward_train(rows, channels_, input_.data(), d_normalised, gamma_.data(),
                                              batch_mean_.data(), batch_inv_std_.data(), input_grad_.data(),
                                              gamma_grad_.data(), beta_grad_.data());
    else
      kernels::ref::batch_norm_backward_eval(rows, channels_, input_.data(), d_normalised, gamma_.data(),
                                             running_mean_.data(), running_var_.data(), eps_, input_grad_.data(),
                                             gamma_grad_.data(), beta_grad_.data());
    return input_grad_;
  }

  std::vector<Parameter> parameters() override {
    return {{"weight", &gamma_, &gamma_grad_}, {"bias", &beta_, &beta_grad_}};
  }
  std::vector<Buffer> buffers() override { return {{"running_mean", &running_mean_}, {"running_var", &running_var_}}; }

  void reset_parameters(Rng&) override { reset_parameters_and_statistics(); }

  void set_statistics_averaging(bool on) override { averaged_batches_ = on ? 0 : -1; }
  void set_batch_norm_replicas(ReplicaGroup* replicas) override { replicas_ = replicas; }
  bool statistics_averaging() const { return averaged_batches_ >= 0; }

 private:
  void reset_parameters_and_statistics() {
    gamma_.fill(1.0f);
    beta_.zero();
    running_mean_.zero();
    running_var_.fill(1.0f);
  }

  int channels_;
  float momentum_, eps_;
  Activation act_;
  Tensor gamma_, beta_, gamma_grad_, beta_grad_, running_mean_, running_var_;
  Tensor batch_mean_, batch_var_, batch_inv_std_;
  Tensor input_, output_, input_grad_, masked_grad_;
  bool input_was_training_ = true;
  int averaged_batches_ = -1;  // batches averaged into the running statistics; -1: moving average
  ReplicaGroup* replicas_ = nullptr;  // synchronised statistics (set_batch_norm_replicas)
  std::size_t batch_rows_ = 0;        // the rows the last training forward's statistics are over
  kernels::BatchNormScratch scratch_;
};

}  // namespace pfld::nn
