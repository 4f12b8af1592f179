// Cascade XML -> classifier -> detection on a small synthetic face-like image.
#include <pfld/facedet/cascade.hpp>

#include "fuzz_target.hpp"

namespace {

// 96 x 80 grey: a bright oval with two dark eyes and a mouth, so that stages get past the first.
pfld::Image test_image() {
  pfld::Image image(96, 80, pfld::PixelFormat::gray);
  for (int y = 0; y < 80; ++y)
    for (int x = 0; x < 96; ++x) {
      const float dx = (x - 48) / 30.0f, dy = (y - 40) / 36.0f;
      int v = dx * dx + dy * dy < 1 ? 200 : 60;
      if ((y > 28 && y < 34) && ((x > 34 && x < 44) || (x > 52 && x < 62))) v = 30;
      if (y > 52 && y < 56 && x > 40 && x < 56) v = 40;
      image.pixels[static_cast<std::size_t>(y) * 96 + static_cast<std::size_t>(x)] = static_cast<std::uint8_t>(v + (x * 7 + y * 3) % 11);
    }
  return image;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pfld::Image image = test_image();
  static pfld::ThreadPool pool(1);
  return fuzz::expect_error_or_success([&] {
    const auto cascade = pfld::CascadeClassifier::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz.xml");
    pfld::CascadeOptions options;
    options.min_face = 8;
    options.min_neighbors = 0;
    cascade.detect(image.view(), options, &pool);
  });
}
