// Random starting weights for the network and its aux net in tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <pfld/core/cpu.hpp>
#include <pfld/model/aux_net.hpp>
#include <pfld/model/pfld_net.hpp>
#include <pfld/nn/init.hpp>

namespace pfld::test {

// He weights throughout. With `plain_landmark_layer`, the landmark layer too gets plain He weights
// instead of pfld's small, centred start (PfldNet::reset_parameters), for tests that want a plainly
// random network.
inline void randomize(model::PfldNet& net, model::AuxNet& aux, Rng& rng, bool plain_landmark_layer) {
  net.reset_parameters(rng);
  aux.reset_parameters(rng);
  if (!plain_landmark_layer) return;
  for (auto& p : net.parameters())
    if (p.name == "fc.weight") nn::he_normal(*p.value, p.value->dim(1), rng);
}

// An eval-mode network with random weights and random, non-trivial batch-norm state (scales, shifts,
// running statistics), so the inference paths that fold batch norm are really exercised.
inline std::unique_ptr<model::PfldNet> random_eval_network(float width, int landmarks, Activation act, std::uint64_t seed,
                                                           bool plain_landmark_layer) {
  ModelConfig config;
  config.width = width;
  config.landmarks = landmarks;
  config.activation = act;
  auto net = std::make_unique<model::PfldNet>(config);
  model::AuxNet aux(config);
  Rng rng(seed);
  randomize(*net, aux, rng, plain_landmark_layer);
  for (auto& p : net->parameters())
    if (p.name.find("bn.weight") != std::string::npos)
      for (float& v : *p.value) v = rng.uniform(0.5f, 1.5f);
    else if (p.name.find("bn.bias") != std::string::npos)
      for (float& v : *p.value) v = rng.uniform(-0.2f, 0.2f);
  for (auto& b : net->buffers())
    if (b.name.find("running_mean") != std::string::npos)
      for (float& v : *b.value) v = rng.uniform(-0.3f, 0.3f);
    else if (b.name.find("running_var") != std::string::npos)
      for (float& v : *b.value) v = rng.uniform(0.5f, 2.0f);
  net->set_training(false);
  return net;
}

// Every ISA this machine (or its emulator) runs, the scalar reference first.
inline std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::ref, Isa::avx2, Isa::avx512, Isa::neon})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

}  // namespace pfld::test
