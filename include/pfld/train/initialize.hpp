// Initialising a network from another's trained weights (fine-tuning): every parameter and batch-norm
// statistic of the same name and shape is copied; the landmark regressor's rows are picked through a
// point correspondence when the landmark counts differ (a 98-point WFLW model starting a 68-point one).
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../data/point_map.hpp"
#include "../model/pfld_net.hpp"

namespace pfld::train {

// Copies `source` into `net`. The backbones must match (same width, same activation); the final
// layer's rows come through point_map(source landmarks, net landmarks). Returns the tensors copied.
inline int initialize_from(model::PfldNet& net, model::PfldNet& source) {
  const ModelConfig& to = net.config();
  const ModelConfig& from = source.config();
  detail::require(to.width == from.width && to.input_size == from.input_size,
                  "initialising from another network: it is ", from.str(), ", this one is ", to.str(),
                  " (the backbones must match)");
  detail::require(to.activation == from.activation, "initialising from another network: its activation is ",
                  to_string(from.activation), ", this one's ", to_string(to.activation));
  const std::vector<int> points = point_map(from.landmarks, to.landmarks);

  std::map<std::string, Tensor*> theirs;
  for (auto& p : source.parameters()) theirs[p.name] = p.value;
  for (auto& b : source.buffers()) theirs[b.name] = b.value;
  std::vector<std::pair<std::string, Tensor*>> ours;
  for (auto& p : net.parameters()) ours.emplace_back(p.name, p.value);
  for (auto& b : net.buffers()) ours.emplace_back(b.name, b.value);

  const std::string fc_weight = "fc.weight", fc_bias = "fc.bias";
  int copied = 0;
  for (auto& [name, dst] : ours) {
    auto it = theirs.find(name);
    detail::require(it != theirs.end(), "initialising from another network: it has no tensor '", name, "'");
    const Tensor& src = *it->second;
    if ((name == fc_weight || name == fc_bias) && from.landmarks != to.landmarks) {
      // Rows are coordinates: x then y of each point. The weight is (2N, features), the bias (2N).
      const std::size_t row = name == fc_weight ? static_cast<std::size_t>(src.dim(1)) : 1;
      for (std::size_t i = 0; i < points.size(); ++i)
        for (std::size_t xy = 0; xy < 2; ++xy)
          std::copy_n(src.data() + (2 * static_cast<std::size_t>(points[i]) + xy) * row, row,
                      dst->data() + (2 * i + xy) * row);
    } else {
      detail::require(src.shape() == dst->shape(), "initialising from another network: tensor '", name,
                      "' is ", src.shape().str(), " there, ", dst->shape().str(), " here");
      std::copy(src.begin(), src.end(), dst->begin());
    }
    ++copied;
  }
  return copied;
}

}  // namespace pfld::train
