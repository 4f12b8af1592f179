// Activation ranges text (a face detector's int8 form) -> ranges, each turned into its byte map.
#include <string_view>

#include <pfld/infer/activation_ranges.hpp>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::expect_error_or_success([&] {
    const pfld::ActivationRanges r =
        pfld::parse_activation_ranges(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.ranges");
    for (const auto& entry : r.ranges) (void)r.quant_params(entry.first);
  });
}
