// The network the seed files hold: the narrowest PFLD (1 and 2 channels where 64 and 128 x width would
// be) with one landmark, so that a valid model file, and the fuzzer's mutations of it, stay small.
#pragma once

#include <pfld/model/config.hpp>

namespace fuzz {

inline pfld::ModelConfig seed_config() {
  pfld::ModelConfig c;
  c.width = 1.0f / 64;  // exactly what onnx_to_model_file reads back from conv1's one channel
  c.landmarks = 1;
  return c;
}

}  // namespace fuzz
