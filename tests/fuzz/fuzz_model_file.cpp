// .pfld weights -> the inference graph straight from the file (what Detector::load does), and -> the
// trainable network; each run once on a grey crop.
#include <pfld/model/inference_graph.hpp>
#include <pfld/train/checkpoint.hpp>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::expect_error_or_success([&] {
    const auto file = pfld::io::ModelFile::parse(fuzz::with_model_file_checksum(data, size), "fuzz.pfld");
    auto run = [](const pfld::GraphNet& inference) {
      pfld::InferenceArena arena = inference.make_arena();
      const std::size_t s = static_cast<std::size_t>(inference.input_size());
      std::fill_n(inference.input(arena), s * s * 3, 0.5f);
      inference.run(arena);
    };
    run(*pfld::build_inference_graph(file, "fuzz.pfld"));
    const auto net = pfld::train::load_network(file, "fuzz.pfld");
    run(*pfld::build_inference_graph(*net));
  });
}
