// ONNX bytes -> parsed model -> pfld's inference graph, run once on a grey crop.
#include <pfld/infer/onnx_import.hpp>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::expect_error_or_success([&] {
    const pfld::io::OnnxModel model = pfld::io::parse_onnx(std::vector<unsigned char>(data, data + size), "fuzz.onnx");
    const auto net = pfld::import_onnx(model, {}, "fuzz.onnx");
    pfld::InferenceArena arena = net->make_arena();
    const std::size_t s = static_cast<std::size_t>(net->input_size());
    std::fill_n(net->input(arena), s * s * 3, 0.5f);
    net->run(arena);
  });
}
