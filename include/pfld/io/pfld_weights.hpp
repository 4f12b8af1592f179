// A pfld model file checked against the network its config describes (model/architecture.hpp): every
// tensor of the backbone present, of its shape and finite, before anything is built from it, so what
// a file makes the loader allocate is bounded by what the file holds. The check both the trainable
// network's loader (train/checkpoint.hpp) and the inference graph's (infer/pfld_graph.hpp) run.
#pragma once

#include <cmath>
#include <string>

#include "../core/error.hpp"
#include "../model/architecture.hpp"
#include "model_file.hpp"

namespace pfld::io {

inline void require_pfld_tensors(const ModelFile& file, const std::string& source) {
  for (const auto& [name, shape] : model::PfldArchitecture(file.config).tensors()) {
    const Tensor* t = file.find(name);
    detail::require(t != nullptr, source, ": missing tensor '", name, "' of a PFLD network with ", file.config.str());
    detail::require(t->shape() == shape, source, ": tensor '", name, "' has shape ", t->shape().str(), ", PFLD with ",
                    file.config.str(), " needs ", shape.str());
    for (float v : *t) detail::require(std::isfinite(v), source, ": tensor '", name, "' holds a non-finite value");
  }
}

}  // namespace pfld::io
