// ONNX bytes -> pfld weights -> a PfldNet (pfld_convert model.onnx model.pfld, pfld_train --init model.onnx).
#include <pfld/infer/onnx_to_pfld.hpp>
#include <pfld/train/checkpoint.hpp>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::expect_error_or_success([&] {
    const pfld::io::OnnxModel model = pfld::io::parse_onnx(std::vector<unsigned char>(data, data + size), "fuzz.onnx");
    pfld::train::load_network(pfld::onnx_to_model_file(model, "fuzz.onnx"), "fuzz.onnx");
  });
}
