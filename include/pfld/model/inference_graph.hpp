// The inference graph of a trainable network as it stands (eval mode: the batch norms' running
// statistics), for validating while training, teachers and readouts: infer/pfld_graph.hpp fed with the
// network's own tensors.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "../core/cpu.hpp"
#include "../infer/pfld_graph.hpp"
#include "pfld_net.hpp"

namespace pfld {

inline std::shared_ptr<GraphNet> build_inference_graph(model::PfldNet& net, Isa isa = active_isa()) {
  std::map<std::string, const Tensor*> by_name;
  for (const auto& p : net.parameters()) by_name[p.name] = p.value;
  for (const auto& b : net.buffers()) by_name[b.name] = b.value;
  return build_inference_graph(
      net.config(),
      [&](const std::string& name) -> const Tensor& {
        const auto it = by_name.find(name);
        detail::require(it != by_name.end(), "build_inference_graph: the network has no tensor '", name, "'");
        return *it->second;
      },
      isa);
}

}  // namespace pfld
