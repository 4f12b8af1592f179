// .pfld weights -> network -> the fused inference network, run once on a grey crop.
#include <pfld/infer/pfld_graph.hpp>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::expect_error_or_success([&] {
    const auto file = pfld::io::ModelFile::parse(fuzz::with_model_file_checksum(data, size), "fuzz.pfld");
    const auto net = pfld::train::load_network(file, "fuzz.pfld");
    const auto inference = pfld::build_inference_graph(*net);
    pfld::InferenceArena arena = inference->make_arena();
    const std::size_t s = static_cast<std::size_t>(inference->input_size());
    std::fill_n(inference->input(arena), s * s * 3, 0.5f);
    inference->run(arena);
  });
}
