// A pfld model file checked against the network its config describes (model/architecture.hpp): every
// tensor of the backbone present, of its shape and finite, before anything is built from it, so what
// a file makes the loader allocate is bounded by what the file holds. The check both the trainable
// network's loader (train/checkpoint.hpp) and the inference graph's (infer/pfld_graph.hpp) run.
#pragma once

#include <cmath>
#include <set>
#include <string>

#include "../core/error.hpp"
#include "../model/architecture.hpp"
#include "model_file.hpp"

namespace pfld::io {

// Whether the file holds an int8 model (metadata quantization = int8; infer/pfld_int8.hpp).
inline bool is_int8_model(const ModelFile& file) {
  const auto it = file.metadata.find("quantization");
  return it != file.metadata.end() && it->second == "int8";
}

// Also checks an int8 model's tensors (PfldArchitecture::int8_tensors): its int8 weights stored as bytes.
inline void require_pfld_tensors(const ModelFile& file, const std::string& source) {
  const auto q = file.metadata.find("quantization");
  detail::require(q == file.metadata.end() || q->second == "int8", source, ": unknown quantization '",
                  q == file.metadata.end() ? "" : q->second, "'");
  const model::PfldArchitecture arch(file.config);
  const bool int8 = is_int8_model(file);
  std::set<std::string> byte_tensors;  // the int8 weights
  if (int8)
    for (const model::ConvUnit* u : arch.int8_units()) byte_tensors.insert(model::int8_tensor_names(*u).weight);
  for (const auto& [name, shape] : int8 ? arch.int8_tensors() : arch.tensors()) {
    const Tensor* t = file.find(name);
    detail::require(t != nullptr, source, ": missing tensor '", name, "' of a", int8 ? "n int8" : "", " PFLD network with ",
                    file.config.str());
    const bool bytes = byte_tensors.count(name) > 0;
    detail::require(bytes == (file.byte_tensors.count(name) > 0), source, ": tensor '", name, "' should ",
                    bytes ? "" : "not ", "be stored as bytes");
    detail::require(t->shape() == shape, source, ": tensor '", name, "' has shape ", t->shape().str(), ", PFLD with ",
                    file.config.str(), " needs ", shape.str());
    for (float v : *t) detail::require(std::isfinite(v), source, ": tensor '", name, "' holds a non-finite value");
  }
}

}  // namespace pfld::io
