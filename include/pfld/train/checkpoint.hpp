// Saving and loading a trainable PFLD network's weights and training checkpoints in the pfld model file
// format (io/model_file.hpp). Inference reads weights files without the trainable network:
// load_inference_graph (infer/pfld_graph.hpp).
//
// Tensor names: the backbone's parameters and batch-norm statistics under their PyTorch-style names
// ("stage3.0.expand.conv.weight", "conv8.bn.running_var"), the auxiliary net's under "aux.", optimiser
// state under "optimizer.<parameter>.<slot>".
#pragma once

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/parse.hpp"
#include "../io/model_file.hpp"
#include "../io/pfld_weights.hpp"
#include "../model/aux_net.hpp"
#include "../model/pfld_net.hpp"
#include "optimizer.hpp"

namespace pfld::train {

namespace detail_checkpoint {

using NamedTensors = std::vector<std::pair<std::string, Tensor*>>;

inline void add_state(NamedTensors& out, const std::string& prefix, nn::Layer& layer) {
  for (auto& p : layer.parameters()) out.emplace_back(prefix + p.name, p.value);
  for (auto& b : layer.buffers()) out.emplace_back(prefix + b.name, b.value);
}

inline NamedTensors model_state(model::PfldNet& net, model::AuxNet* aux) {
  NamedTensors state;
  add_state(state, "", net);
  if (aux) add_state(state, "aux.", *aux);
  return state;
}

inline void write_tensors(io::ModelFile& file, const NamedTensors& tensors) {
  for (const auto& [name, t] : tensors) file.tensors.emplace_back(name, *t);
}

// Copies every wanted tensor from the file, checking presence, shape and finiteness; tensors of the
// file that nobody wants are an error unless their name starts with one of `ignorable_prefixes`.
inline void read_tensors(const io::ModelFile& file, const NamedTensors& wanted, const std::string& source,
                         const std::vector<std::string>& ignorable_prefixes) {
  detail::require(!io::is_int8_model(file), source,
                  ": an int8 model runs for inference only; train from the float weights it was made from");
  std::map<std::string, Tensor*> by_name(wanted.begin(), wanted.end());
  for (const auto& [name, t] : file.tensors) {
    if (by_name.count(name)) continue;
    bool ignorable = false;
    for (const auto& prefix : ignorable_prefixes) ignorable = ignorable || name.rfind(prefix, 0) == 0;
    detail::require(ignorable, source, ": unexpected tensor '", name, "' (a different architecture?)");
  }
  for (const auto& [name, dst] : wanted) {
    const Tensor* src = file.find(name);
    detail::require(src != nullptr, source, ": missing tensor '", name, "'");
    detail::require(src->shape() == dst->shape(), source, ": tensor '", name, "' has shape ", src->shape().str(),
                    ", the model needs ", dst->shape().str());
    for (float v : *src) detail::require(std::isfinite(v), source, ": tensor '", name, "' holds a non-finite value");
    assign(*dst, *src);
  }
}

inline void require_config(const io::ModelFile& file, const ModelConfig& expected, const std::string& source) {
  detail::require(file.config == expected, source, ": model config mismatch: the file has ", file.config.str(),
                  ", the model is ", expected.str());
}

}  // namespace detail_checkpoint

// Weights: the backbone (what inference needs), plus the auxiliary net when given.
inline void save_weights(const std::string& path, model::PfldNet& net, model::AuxNet* aux = nullptr,
                         std::map<std::string, std::string> metadata = {}) {
  io::ModelFile file;
  file.kind = io::ModelFile::Kind::weights;
  file.config = net.config();
  file.metadata = std::move(metadata);
  detail_checkpoint::write_tensors(file, detail_checkpoint::model_state(net, aux));
  file.save(path);
}

// Loads into an existing network of the same config. The aux net is loaded when given (the file must
// then hold it); aux tensors in the file are skipped when it is not. Checkpoints load too.
inline void load_weights(const std::string& path, model::PfldNet& net, model::AuxNet* aux = nullptr) {
  const io::ModelFile file = io::ModelFile::load(path);
  detail_checkpoint::require_config(file, net.config(), path);
  detail_checkpoint::read_tensors(file, detail_checkpoint::model_state(net, aux), path, {"aux.", "optimizer."});
}

// A network built from the config stored in the file, with its weights.
inline std::unique_ptr<model::PfldNet> load_network(const io::ModelFile& file, const std::string& source) {
  io::require_pfld_tensors(file, source);
  auto net = std::make_unique<model::PfldNet>(file.config);
  detail_checkpoint::read_tensors(file, detail_checkpoint::model_state(*net, nullptr), source, {"aux.", "optimizer."});
  return net;
}

inline std::unique_ptr<model::PfldNet> load_network(const std::string& path) {
  return load_network(io::ModelFile::load(path), path);
}

// Where training stands; saved in a checkpoint's metadata.
struct TrainingProgress {
  int epoch = 0;             // epochs completed
  int step = 0;              // optimiser updates done
  std::map<std::string, std::string> extra;  // anything else the trainer wants back (best NME, options)
};

// `params` are the trained parameters as the optimiser sees them (Trainer::parameters()).
inline void save_checkpoint(const std::string& path, model::PfldNet& net, model::AuxNet& aux,
                            Optimizer& optimizer, const std::vector<nn::Parameter>& params,
                            const TrainingProgress& progress) {
  io::ModelFile file;
  file.kind = io::ModelFile::Kind::checkpoint;
  file.config = net.config();
  file.metadata = progress.extra;
  file.metadata["epoch"] = std::to_string(progress.epoch);
  file.metadata["step"] = std::to_string(progress.step);
  file.metadata["optimizer"] = optimizer.name();
  file.metadata["optimizer.steps"] = std::to_string(optimizer.steps());
  detail_checkpoint::write_tensors(file, detail_checkpoint::model_state(net, &aux));
  for (auto& [name, t] : optimizer.state(params)) file.tensors.emplace_back("optimizer." + name, *t);
  file.save(path);
}

inline TrainingProgress load_checkpoint(const io::ModelFile& file, const std::string& source, model::PfldNet& net,
                                        model::AuxNet& aux, Optimizer& optimizer,
                                        const std::vector<nn::Parameter>& params) {
  detail::require(file.kind == io::ModelFile::Kind::checkpoint, source, ": holds weights only, not a training checkpoint");
  detail_checkpoint::require_config(file, net.config(), source);
  auto meta = [&](const std::string& key) -> const std::string& {
    auto it = file.metadata.find(key);
    detail::require(it != file.metadata.end(), source, ": checkpoint lacks '", key, "'");
    return it->second;
  };
  auto meta_count = [&](const std::string& key) {
    const auto n = detail::parse_integer(meta(key), 0, std::numeric_limits<int>::max());
    detail::require(n.has_value(), source, ": checkpoint field '", key, "' is not a whole number from 0 to ",
                    std::numeric_limits<int>::max(), ": '", meta(key), "'");
    return static_cast<int>(*n);
  };
  detail::require(meta("optimizer") == optimizer.name(), source, ": checkpoint was made with optimizer ",
                  meta("optimizer"), ", resuming with ", optimizer.name());
  TrainingProgress progress;
  progress.epoch = meta_count("epoch");
  progress.step = meta_count("step");
  const int optimizer_steps = meta_count("optimizer.steps");
  detail_checkpoint::NamedTensors wanted = detail_checkpoint::model_state(net, &aux);
  for (auto& [name, t] : optimizer.state(params)) wanted.emplace_back("optimizer." + name, t);
  detail_checkpoint::read_tensors(file, wanted, source, {});
  optimizer.set_steps(optimizer_steps);
  progress.extra = file.metadata;
  return progress;
}

inline TrainingProgress load_checkpoint(const std::string& path, model::PfldNet& net, model::AuxNet& aux,
                                        Optimizer& optimizer, const std::vector<nn::Parameter>& params) {
  return load_checkpoint(io::ModelFile::load(path), path, net, aux, optimizer, params);
}

}  // namespace pfld::train
