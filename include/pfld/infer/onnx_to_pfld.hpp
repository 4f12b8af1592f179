// ONNX -> pfld weights (pfld_convert model.onnx model.pfld, pfld_train --init FILE.onnx): an ONNX graph of
// PFLD's own architecture back into the tensors the description (model/architecture.hpp) names. Reads
// the graph with the importer's checks (onnx_import.hpp); builds no network.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "../io/model_file.hpp"
#include "../model/architecture.hpp"
#include "onnx_import.hpp"
#include "weight_layout.hpp"

namespace pfld {
inline namespace infer {

// An ONNX graph with PFLD's own architecture (an export of pfld or of the same network from PyTorch)
// back into a pfld weights file, to be saved or fine-tuned (train::load_network). The convolutions are
// taken in graph order and must match the description's units one by one; batch norms after them are
// folded and the file's batch norms hold the identity plus the bias. Other architectures are an Error
// (run them with load_onnx instead).
inline io::ModelFile onnx_to_model_file(const io::OnnxModel& m, const std::string& source = "onnx") {
  using namespace detail_onnx_import;
  for (const io::OnnxNode& n : m.nodes) validate_onnx_node(n, source);
  struct Conv {
    const io::OnnxNode* node;
    std::vector<int> dims;              // OIHW
    std::vector<float> weights, bias;  // OIHW, folded
  };
  std::map<std::string, const io::OnnxNode*> reader;
  std::map<std::string, int> reads;
  for (const auto& n : m.nodes)
    for (const auto& in : n.inputs) reader[in] = &n, ++reads[in];
  std::vector<Conv> convs;
  const io::OnnxNode* gemm = nullptr;
  Activation act = Activation::identity;
  for (const auto& n : m.nodes) {
    if (n.op_type == "Conv") {
      const io::OnnxTensor& w = initializer(m, n, 1, source);
      Conv c{&n, weight_dims(w, 4, n, source), w.floats, {}};
      c.bias.assign(static_cast<std::size_t>(c.dims[0]), 0.0f);
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) c.bias = float_initializer(m, n, 2, c.bias.size(), source);
      const auto r = reader.find(n.outputs[0]);
      if (r != reader.end() && reads[n.outputs[0]] == 1 && r->second->op_type == "BatchNormalization")
        fold_batch_norm(m, *r->second, c.weights, c.bias, source);
      convs.push_back(std::move(c));
    } else if (n.op_type == "Gemm" || n.op_type == "MatMul") {
      detail::require(!gemm, source, ": more than one fully connected layer: not PFLD's architecture");
      gemm = &n;
    } else if ((n.op_type == "Relu" || n.op_type == "Clip") && act == Activation::identity) {
      const Clamp c = clamp_of_node(m, n, source);
      act = c.hi == 6.0f ? Activation::relu6 : Activation::relu;
    }
  }
  detail::require(!convs.empty() && gemm, source, ": no convolutions or no fully connected layer: not PFLD's architecture");
  const io::OnnxTensor& fc_w = initializer(m, *gemm, 1, source);
  const std::vector<int> fc_dims = weight_dims(fc_w, 2, *gemm, source);
  const bool trans_b = gemm->op_type == "Gemm" && gemm->attr_int("transB", 0) != 0;
  ModelConfig config;
  config.width = static_cast<float>(convs[0].dims[0]) / 64.0f;
  config.landmarks = (trans_b ? fc_dims[0] : fc_dims[1]) / 2;
  config.activation = act;
  // Every shape is checked against the architecture before the network is built (and allocated).
  const model::PfldArchitecture architecture = [&] {
    try {
      return model::PfldArchitecture(config);
    } catch (const Error& e) {
      detail::fail(source, ": not PFLD's architecture (", e.what(), ")");
    }
  }();
  const std::vector<const model::ConvUnit*> units = architecture.conv_units();
  detail::require(convs.size() == units.size(), source, ": ", convs.size(), " convolutions, PFLD ", config.str(), " has ",
                  units.size(), ": not PFLD's architecture (run it with load_onnx)");
  for (std::size_t i = 0; i < units.size(); ++i) {
    const model::ConvUnit& u = *units[i];
    const Conv& c = convs[i];
    detail::require(c.dims == std::vector<int>{u.out, u.in / u.groups, u.kernel, u.kernel} &&
                        c.node->attr_int("group", 1) == u.groups,
                    source, ": ", c.node->describe(), " does not match PFLD's convolution ", i, " (", u.out, "x",
                    u.in / u.groups, "x", u.kernel, "x", u.kernel, ", groups ", u.groups,
                    "): not PFLD's architecture (run it with load_onnx)");
  }
  detail::require(static_cast<std::size_t>(fc_dims[0]) * static_cast<std::size_t>(fc_dims[1]) ==
                          static_cast<std::size_t>(architecture.fc_in) * static_cast<std::size_t>(architecture.fc_out) &&
                      (trans_b ? fc_dims[1] : fc_dims[0]) == architecture.fc_in,
                  source, ": ", gemm->describe(), ": weights do not fit PFLD's ", architecture.fc_in, " -> ",
                  architecture.fc_out, " layer");
  std::vector<float> fc_bias;
  if (gemm->op_type == "Gemm" && gemm->inputs.size() > 2 && !gemm->inputs[2].empty()) {
    fc_bias = float_initializer(m, *gemm, 2, 0, source);
    detail::require(fc_bias.size() == 1 || fc_bias.size() == static_cast<std::size_t>(architecture.fc_out), source, ": ",
                    gemm->describe(), ": bias of ", fc_bias.size(), " values for ", architecture.fc_out, " outputs");
  }

  // The tensors of the description, by name: each convolution's weights (OIHW -> OHWI), its batch norm
  // the identity plus the folded bias; the fc layer (out, in).
  io::ModelFile file;
  file.kind = io::ModelFile::Kind::weights;
  file.config = config;
  for (std::size_t i = 0; i < units.size(); ++i) {
    const model::ConvUnit& u = *units[i];
    const Conv& c = convs[i];
    const int k = u.kernel, in_pg = u.in / u.groups;
    Tensor w(Shape{u.out, k, k, in_pg});
    const std::vector<float> ohwi = ohwi_from_oihw(c.weights.data(), u.out, in_pg, k, k);
    std::copy(ohwi.begin(), ohwi.end(), w.data());
    Tensor gamma(Shape{u.out}), beta(Shape{u.out}), mean(Shape{u.out}), var(Shape{u.out});
    for (int o = 0; o < u.out; ++o) {
      gamma[static_cast<std::size_t>(o)] = 1.0f;
      beta[static_cast<std::size_t>(o)] = c.bias[static_cast<std::size_t>(o)];
      var[static_cast<std::size_t>(o)] = 1.0f - model::ConvUnit::kBatchNormEps;  // sqrt(var + eps) = 1
    }
    file.tensors.emplace_back(u.name + ".conv.weight", w);
    file.tensors.emplace_back(u.name + ".bn.weight", gamma);
    file.tensors.emplace_back(u.name + ".bn.bias", beta);
    file.tensors.emplace_back(u.name + ".bn.running_mean", mean);
    file.tensors.emplace_back(u.name + ".bn.running_var", var);
  }
  Tensor fc(Shape{architecture.fc_out, architecture.fc_in}), bias(Shape{architecture.fc_out});
  for (int o = 0; o < architecture.fc_out; ++o) {
    for (int i = 0; i < architecture.fc_in; ++i)
      fc[static_cast<std::size_t>(o) * architecture.fc_in + i] =
          trans_b ? fc_w.floats[static_cast<std::size_t>(o) * architecture.fc_in + i]
                  : fc_w.floats[static_cast<std::size_t>(i) * architecture.fc_out + o];
    bias[static_cast<std::size_t>(o)] = fc_bias.empty() ? 0.0f : fc_bias[fc_bias.size() == 1 ? 0 : static_cast<std::size_t>(o)];
  }
  file.tensors.emplace_back("fc.weight", fc);
  file.tensors.emplace_back("fc.bias", bias);
  return file;
}

}  // namespace infer
}  // namespace pfld
