// The smallest useful host program: weights + photo + face box in, 68 landmarks out.
//
//   pfld_embed WEIGHTS IMAGE X Y W H      (the box in image pixels; prints "x y" per landmark)
//
// Everything a program needs is <pfld/pfld.hpp>; <pfld/io/image_file.hpp> only reads the photo (stb).
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: pfld_embed WEIGHTS IMAGE X Y W H\n");
    return 2;
  }
  try {
    pfld::Detector detector = pfld::Detector::load(argv[1]);  // built once: weights packed, memory reserved
    const pfld::Image image = pfld::io::read_image(argv[2]);
    const pfld::Box face{std::strtof(argv[3], nullptr), std::strtof(argv[4], nullptr), std::strtof(argv[5], nullptr),
                         std::strtof(argv[6], nullptr)};
    for (const pfld::Point& p : detector.detect(image.view(), face)) std::printf("%.2f %.2f\n", p.x, p.y);
  } catch (const pfld::Error& e) {
    std::fprintf(stderr, "pfld_embed: %s\n", e.what());
    return 1;
  }
  return 0;
}
