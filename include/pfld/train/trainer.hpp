// One training step of PFLD: backbone + auxiliary net forward, weighted loss, backward, optimiser update.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "../core/replica_group.hpp"
#include "../data/batch.hpp"
#include "../model/aux_net.hpp"
#include "../model/loss.hpp"
#include "../model/pfld_net.hpp"
#include "lr_schedule.hpp"
#include "optimizer.hpp"

namespace pfld::train {

class Trainer {
 public:
  // The auxiliary net is run and trained only when the loss mode uses pose.
  Trainer(model::PfldNet& net, model::AuxNet& aux, model::PfldLoss loss, Optimizer& optimizer, LrSchedule schedule)
      : net_(net), aux_(aux), loss_(std::move(loss)), optimizer_(optimizer), schedule_(schedule) {}

  // The trained parameters: the backbone's, and the aux net's under "aux." when it is used.
  std::vector<nn::Parameter> parameters() {
    std::vector<nn::Parameter> params = net_.parameters();
    if (loss_.uses_pose())
      for (auto& p : aux_.parameters()) params.push_back({"aux." + p.name, p.value, p.grad});
    return params;
  }

  // Frozen batch norm: steps normalise with the running statistics and leave them as they are, so
  // the weights are fitted to exactly what inference computes (a final fine-tuning stage).
  void set_batch_norm_frozen(bool frozen) { batch_norm_frozen_ = frozen; }
  bool batch_norm_frozen() const { return batch_norm_frozen_; }

  // Data-parallel training (train/distributed.hpp): every replica steps on its own part of the global
  // batch and the gradients (and the loss) are averaged over `replicas` before the update, so every
  // replica makes the same update. Requires: the replicas start from the same weights and optimizer
  // state, and their parts of the batch are the same size. With `synchronise_batch_norm`, batch norm
  // normalises with the whole global batch's statistics (then N replicas compute what one replica
  // would over the N parts); else each with its own part's. Null: this process alone.
  void set_replicas(ReplicaGroup* replicas, bool synchronise_batch_norm) {
    replicas_ = replicas;
    synchronised_batch_norm_ = replicas && synchronise_batch_norm;
    net_.set_batch_norm_replicas(synchronised_batch_norm_ ? replicas : nullptr);
    aux_.set_batch_norm_replicas(synchronised_batch_norm_ ? replicas : nullptr);
  }
  ReplicaGroup* replicas() const { return replicas_; }
  bool batch_norm_synchronised() const { return synchronised_batch_norm_; }

  // One update; returns the batch loss before the update (the global batch's, over replicas).
  // `stop`, if given: on entry whether this replica wants to stop, on return whether any replica does
  // (the flag rides in the replicas' gradient sum: asking costs no collective of its own).
  float step(const Batch& batch, bool* stop = nullptr) {
    net_.set_training(!batch_norm_frozen_);
    aux_.set_training(true);
    const std::vector<nn::Parameter> params = parameters();
    for (const auto& p : params) p.grad->zero();

    const Tensor& predicted = net_.forward(batch.images);
    const bool with_pose = loss_.uses_pose();
    const Tensor no_pose;
    const Tensor& predicted_pose = with_pose ? aux_.forward(net_.features()) : no_pose;
    float loss = loss_.forward(predicted, batch.landmarks, predicted_pose, batch.pose, batch.attributes);
    detail::require(std::isfinite(loss), "training diverged: loss is ", loss, " at step ", step_,
                    " (lower the learning rate?)");
    if (with_pose)
      net_.backward(loss_.landmark_grad(), &aux_.backward(loss_.pose_grad()));
    else
      net_.backward(loss_.landmark_grad());
    if (replicas_) loss = average_over_replicas(params, loss, stop);

    optimizer_.step(params, schedule_.at(step_));
    ++step_;
    return loss;
  }

  // Eval-mode landmarks (running BN statistics); the training flag is restored afterwards.
  Tensor predict(const Tensor& images) {
    nn::EvalModeScope eval(net_);
    return net_.forward(images).clone();
  }

  int steps_done() const { return step_; }
  void set_steps_done(int step) { step_ = step; }
  float current_lr() const { return schedule_.at(step_); }
  const LrSchedule& schedule() const { return schedule_; }
  const model::PfldLoss& loss() const { return loss_; }

 private:
  // Every gradient, and the loss, replaced by its mean over the replicas, and *stop by whether any
  // replica asked to stop: one flat buffer, one sum.
  float average_over_replicas(const std::vector<nn::Parameter>& params, float loss, bool* stop) {
    std::size_t total = 2;
    for (const auto& p : params) total += p.grad->numel();
    flat_.resize(total);
    std::size_t at = 0;
    for (const auto& p : params) {
      std::copy(p.grad->data(), p.grad->data() + p.grad->numel(), flat_.begin() + static_cast<std::ptrdiff_t>(at));
      at += p.grad->numel();
    }
    flat_[at] = loss;
    flat_[at + 1] = stop && *stop ? 1.0f : 0.0f;
    replicas_->sum(flat_.data(), flat_.size());
    if (stop) *stop = flat_[at + 1] > 0.5f;
    const float inv = 1.0f / static_cast<float>(replicas_->size());
    at = 0;
    for (const auto& p : params) {
      float* g = p.grad->data();
      for (std::size_t i = 0; i < p.grad->numel(); ++i) g[i] = flat_[at + i] * inv;
      at += p.grad->numel();
    }
    return flat_[at] * inv;
  }

  model::PfldNet& net_;
  model::AuxNet& aux_;
  model::PfldLoss loss_;
  Optimizer& optimizer_;
  LrSchedule schedule_;
  int step_ = 0;
  bool batch_norm_frozen_ = false;
  ReplicaGroup* replicas_ = nullptr;
  bool synchronised_batch_norm_ = false;
  std::vector<float> flat_;  // the gradients in one buffer (average_over_replicas)
};

}  // namespace pfld::train
