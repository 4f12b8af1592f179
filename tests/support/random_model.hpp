// Random starting weights for the network and its aux net in tests.
#pragma once

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

}  // namespace pfld::test
