// WFLW annotation list -> face records, and each record's box and points as the data loader uses them.
#include <sstream>

#include <pfld/data/wflw_list.hpp>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::expect_error_or_success([&] {
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    for (const pfld::WflwRecord& r : pfld::parse_wflw_list(in, "fuzz.txt")) {
      r.box.validate("fuzz.txt");
      pfld::require_finite(r.landmarks, "fuzz.txt");
      pfld::bounding_box(r.landmarks).validate("fuzz.txt");
    }
  });
}
