// JPEG / PNG / BMP bytes -> RGB image (stb_image behind pfld's guards).
#include <pfld/io/image_file.hpp>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::expect_error_or_success([&] {
    // 4 Mpx here: the default 64 Mpx budget is fine for a program, but a fuzzer decoding 64 Mpx images
    // thousands of times would mostly measure memset.
    pfld::io::ImageLimits limits;
    limits.max_pixels = std::uint64_t{4} << 20;
    const pfld::Image image = pfld::io::decode_image(data, size, "fuzz.img", limits);
    image.view().validate("fuzz.img");
  });
}
