// pfld's network in int8: the units PfldArchitecture::int8_units names, each folded (conv + batch norm)
// and quantized (int8 weights per output channel, a float bias), with the calibrated ranges of the
// tensors between them. Made from float weights and calibration ranges (quantize_network), read from
// and written to an int8 model file (int8_network_of, make_int8_model_file), and run by
// build_inference_graph (infer/pfld_graph.hpp).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../io/model_file.hpp"
#include "../io/pfld_weights.hpp"
#include "../model/architecture.hpp"
#include "fold.hpp"
#include "int8_calibration.hpp"
#include "int8_quantization.hpp"

namespace pfld {
inline namespace infer {

// A conv + batch norm unit's folded weights (OHWI, output channels [c0, c1); all when c1 < 0) and bias.
struct FoldedUnit {
  std::vector<float> weights, bias;
};
inline FoldedUnit fold_conv_unit(const model::ConvUnit& u, const model::PfldTensorLookup& tensor, int c0 = 0, int c1 = -1) {
  if (c1 < 0) c1 = u.out;
  detail::require(0 <= c0 && c0 < c1 && c1 <= u.out, "pfld graph: channels [", c0, ", ", c1, ") of ", u.out);
  const std::size_t per_out = static_cast<std::size_t>(u.kernel) * u.kernel * static_cast<std::size_t>(u.in / u.groups);
  FoldedUnit f;
  const float* w = tensor(u.name + ".conv.weight").data();
  f.weights.assign(w + static_cast<std::size_t>(c0) * per_out, w + static_cast<std::size_t>(c1) * per_out);
  f.bias.assign(static_cast<std::size_t>(c1 - c0), 0.0f);  // (PFLD's convolutions have none)
  fold_batch_norm(f.weights, f.bias, tensor(u.name + ".bn.weight").data() + c0, tensor(u.name + ".bn.bias").data() + c0,
                  tensor(u.name + ".bn.running_mean").data() + c0, tensor(u.name + ".bn.running_var").data() + c0,
                  model::ConvUnit::kBatchNormEps, u.name);
  return f;
}

// One int8 unit: its weights (OHWI rows per output channel) and its folded bias.
struct Int8Unit {
  Int8Weights weights;
  std::vector<float> bias;
};

// The int8 parts of a PFLD network: every int8 unit by name (PfldArchitecture::int8_units), and the
// ranges of their outputs. Copyable value type.
struct Int8Network {
  std::map<std::string, Int8Unit> units;
  ActivationRanges ranges;

  const Int8Unit& unit(const std::string& name) const {
    const auto it = units.find(name);
    detail::require(it != units.end(), "int8 network: no unit '", name, "'");
    return it->second;
  }
};

// The int8 network of float weights `tensor` with calibrated `ranges` (calibrate_activations on the
// float graph, whose tensors are named after the units). Requires a range for every int8 unit.
inline Int8Network quantize_network(const ModelConfig& config, const model::PfldTensorLookup& tensor,
                                    const ActivationRanges& ranges) {
  const model::PfldArchitecture arch(config);
  Int8Network q;
  auto range = [&](const std::string& name) {
    ranges.quant_params(name);  // (an Error when it was not calibrated)
    return ranges.ranges.at(name);
  };
  for (const model::ConvUnit* u : arch.int8_units()) {
    q.ranges.ranges[u->name] = range(u->name);
    const FoldedUnit f = fold_conv_unit(*u, tensor);
    Int8Unit unit;
    unit.weights = quantize_weights(f.weights.data(), u->out, static_cast<int>(f.weights.size() / static_cast<std::size_t>(u->out)));
    unit.bias = f.bias;
    q.units.emplace(u->name, std::move(unit));
  }
  return q;
}

// The int8 network an int8 model file holds; requires io::require_pfld_tensors to have passed.
inline Int8Network int8_network_of(const io::ModelFile& file) {
  const model::PfldArchitecture arch(file.config);
  Int8Network q;
  for (const model::ConvUnit* u : arch.int8_units()) {
    const model::Int8TensorNames names = model::int8_tensor_names(*u);
    const Tensor& range = *file.find(names.range);
    detail::require(range[0] <= range[1], "int8 model: ", names.range, " [", range[0], ", ", range[1], "] is not a range");
    q.ranges.ranges[u->name] = {range[0], range[1]};
    const Tensor& w = *file.find(names.weight);
    const Tensor& scale = *file.find(names.scale);
    const Tensor& bias = *file.find(names.bias);
    Int8Unit unit;
    unit.weights.n = u->out;
    unit.weights.k = static_cast<int>(w.numel() / static_cast<std::size_t>(u->out));
    for (float v : w) {
      detail::require(v >= -127.0f, "int8 model: ", names.weight, " holds ", v, " (int8 weights are symmetric: -127 to 127)");
      unit.weights.values.push_back(static_cast<std::int8_t>(v));
    }
    for (float s : scale) detail::require(s > 0.0f, "int8 model: ", names.scale, " holds ", s, " (scales are positive)");
    unit.weights.scales.assign(scale.begin(), scale.end());
    unit.bias.assign(bias.begin(), bias.end());
    q.units.emplace(u->name, std::move(unit));
  }
  return q;
}

// The int8 model file of a float weights file and its int8 network: the float units' tensors as they
// were, the int8 units' int8 tensors in place of theirs (PfldArchitecture::int8_tensors), metadata
// quantization = int8 plus the float file's and `metadata`.
inline io::ModelFile make_int8_model_file(const io::ModelFile& float_file, const Int8Network& q,
                                          const std::map<std::string, std::string>& metadata = {}) {
  detail::require(!io::is_int8_model(float_file), "make_int8_model_file: the model is int8 already");
  io::ModelFile out;
  out.kind = io::ModelFile::Kind::weights;
  out.config = float_file.config;
  out.metadata = float_file.metadata;
  for (const auto& [key, value] : metadata) out.metadata[key] = value;
  out.metadata["quantization"] = "int8";
  auto vector = [](const std::vector<float>& v) {
    Tensor t(Shape{static_cast<int>(v.size())});
    std::copy(v.begin(), v.end(), t.data());
    return t;
  };
  const model::PfldArchitecture arch(float_file.config);
  std::map<std::string, const model::ConvUnit*> unit_of;  // the int8 units' tensors by name
  for (const model::ConvUnit* u : arch.int8_units()) {
    const model::Int8TensorNames names = model::int8_tensor_names(*u);
    for (const std::string* name : {&names.weight, &names.scale, &names.bias, &names.range}) unit_of[*name] = u;
  }
  for (const auto& [name, shape] : arch.int8_tensors()) {
    const auto it = unit_of.find(name);
    if (it == unit_of.end()) {  // a float layer's, as it was
      const Tensor* t = float_file.find(name);
      detail::require(t != nullptr, "make_int8_model_file: the float model has no tensor '", name, "'");
      out.tensors.emplace_back(name, t->clone());
      continue;
    }
    const model::ConvUnit& unit = *it->second;
    const model::Int8TensorNames names = model::int8_tensor_names(unit);
    if (name == names.range) {
      detail::require(q.ranges.ranges.count(unit.name) > 0, "make_int8_model_file: no range for '", unit.name, "'");
      const std::pair<float, float> r = q.ranges.ranges.at(unit.name);
      out.tensors.emplace_back(name, vector({r.first, r.second}));
      continue;
    }
    const Int8Unit& u = q.unit(unit.name);
    if (name == names.weight) {
      Tensor t(shape);
      detail::require(t.numel() == u.weights.values.size(), "make_int8_model_file: ", name, " has ",
                      u.weights.values.size(), " values, ", shape.str(), " expected");
      for (std::size_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(u.weights.values[i]);
      out.tensors.emplace_back(name, std::move(t));
      out.byte_tensors.insert(name);
    } else {
      out.tensors.emplace_back(name, vector(name == names.scale ? u.weights.scales : u.bias));
    }
  }
  return out;
}

}  // namespace infer
}  // namespace pfld
