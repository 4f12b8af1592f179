// iBUG .pts text -> landmarks.
#include <sstream>

#include <pfld/data/pts_file.hpp>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::expect_error_or_success([&] {
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    const pfld::Landmarks points = pfld::parse_pts(in, "fuzz.pts");
    pfld::require_finite(points, "fuzz.pts");
    pfld::bounding_box(points).validate("fuzz.pts");
  });
}
