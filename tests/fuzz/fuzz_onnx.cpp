// ONNX bytes -> parsed model -> pfld's inference graph, run once on a grey input.
#include <pfld/infer/onnx_import.hpp>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::expect_error_or_success([&] {
    const pfld::io::OnnxModel model = pfld::io::parse_onnx(std::vector<unsigned char>(data, data + size), "fuzz.onnx");
    // Any graph (a detector's too), at the file's input size; then as a landmark model when it is one.
    const auto net = pfld::import_onnx_graph(model, {}, "fuzz.onnx");
    pfld::InferenceArena arena = net->make_arena();
    std::fill_n(net->input(arena), static_cast<std::size_t>(net->input_height()) * net->input_width() * 3, 0.5f);
    net->run_graph(arena);
    const auto landmarks = pfld::import_onnx(model, {}, "fuzz.onnx");
    pfld::InferenceArena landmark_arena = landmarks->make_arena();
    landmarks->run(landmark_arena);
  });
}
