// ONNX bytes -> a PfldNet (pfld_convert model.onnx model.pfld, pfld_train --init model.onnx).
#include <pfld/model/onnx_to_pfld.hpp>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::expect_error_or_success([&] {
    const pfld::io::OnnxModel model = pfld::io::parse_onnx(std::vector<unsigned char>(data, data + size), "fuzz.onnx");
    pfld::onnx_to_pfld_network(model, "fuzz.onnx");
  });
}
