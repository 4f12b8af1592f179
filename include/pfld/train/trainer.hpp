// One training step of PFLD: backbone + auxiliary net forward, weighted loss, backward, optimiser update.
#pragma once

#include <cmath>
#include <vector>

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

  // One update; returns the batch loss before the update.
  float step(const Batch& batch) {
    net_.set_training(!batch_norm_frozen_);
    aux_.set_training(true);
    const std::vector<nn::Parameter> params = parameters();
    for (const auto& p : params) p.grad->zero();

    const Tensor& predicted = net_.forward(batch.images);
    const bool with_pose = loss_.uses_pose();
    const Tensor no_pose;
    const Tensor& predicted_pose = with_pose ? aux_.forward(net_.features()) : no_pose;
    const float loss = loss_.forward(predicted, batch.landmarks, predicted_pose, batch.pose, batch.attributes);
    detail::require(std::isfinite(loss), "training diverged: loss is ", loss, " at step ", step_,
                    " (lower the learning rate?)");
    if (with_pose)
      net_.backward(loss_.landmark_grad(), &aux_.backward(loss_.pose_grad()));
    else
      net_.backward(loss_.landmark_grad());

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
  model::PfldNet& net_;
  model::AuxNet& aux_;
  model::PfldLoss loss_;
  Optimizer& optimizer_;
  LrSchedule schedule_;
  int step_ = 0;
  bool batch_norm_frozen_ = false;
};

}  // namespace pfld::train
