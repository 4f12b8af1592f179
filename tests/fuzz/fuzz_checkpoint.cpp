// A training checkpoint -> network, auxiliary net, optimiser state and progress (the --resume path).
#include <pfld/train/checkpoint.hpp>
#include <pfld/train/trainer.hpp>

#include "fuzz_target.hpp"
#include "seed_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static pfld::model::PfldNet net(fuzz::seed_config());
  static pfld::model::AuxNet aux(fuzz::seed_config());
  static pfld::train::Adam adam;
  static pfld::train::Trainer trainer(net, aux, pfld::model::PfldLoss(), adam, pfld::train::LrSchedule{});
  return fuzz::expect_error_or_success([&] {
    const auto file = pfld::io::ModelFile::parse(fuzz::with_model_file_checksum(data, size), "fuzz.ckpt");
    pfld::train::load_checkpoint(file, "fuzz.ckpt", net, aux, adam, trainer.parameters());
  });
}
