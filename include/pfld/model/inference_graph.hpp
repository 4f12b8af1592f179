// The inference graph of a trainable network as it stands (eval mode: the batch norms' running
// statistics), for validating while training, teachers and readouts: infer/pfld_graph.hpp fed with the
// network's own tensors.
#pragma once

#include <memory>

#include "../core/cpu.hpp"
#include "../infer/pfld_graph.hpp"
#include "pfld_net.hpp"

namespace pfld {

inline std::shared_ptr<GraphNet> build_inference_graph(model::PfldNet& net, Isa isa = active_isa()) {
  return build_inference_graph(net.config(), model::tensors_of(net), isa);
}

}  // namespace pfld
