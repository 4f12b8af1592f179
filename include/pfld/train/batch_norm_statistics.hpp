// Precise batch norm: the running statistics re-estimated with the weights as they are now.
//
// During training, batch norm's running mean and variance are a moving average (momentum 0.1) over
// roughly the last twenty batches, taken while the weights were still moving; the network validated after
// an epoch carries whatever statistics its last batches happened to give. Averaging them over many
// batches with the final weights (Wu and Johnson, "Rethinking 'Batch' in BatchNorm", 2021) removes that
// luck. The batches must look like training batches (augmented): statistics of clean crops cost the
// shipped networks accuracy (weights/README.md).
#pragma once

#include "../nn/layer.hpp"
#include "trainer.hpp"

namespace pfld::train {

// Replaces the running statistics of every batch norm in `net` by their plain average over `batches`
// training-mode forwards of next_batch().images. Weights do not change; the training flag is restored.
template <class NextBatch>
void estimate_batch_norm_statistics(nn::Layer& net, int batches, NextBatch&& next_batch) {
  detail::require(batches >= 1, "estimate_batch_norm_statistics: batch count must be positive, got ", batches);
  struct Restore {
    nn::Layer& net;
    bool was_training;
    ~Restore() {
      net.set_statistics_averaging(false);
      net.set_training(was_training);
    }
  } restore{net, net.training()};
  net.set_training(true);
  net.set_statistics_averaging(true);
  for (int b = 0; b < batches; ++b) {
    const Batch batch = next_batch();
    net.forward(batch.images);
  }
}

}  // namespace pfld::train
