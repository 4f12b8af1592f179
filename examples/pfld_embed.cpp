// The smallest useful host program: weights + photo + face box in, 68 landmarks out.
//
//   pfld_embed WEIGHTS IMAGE X Y W H      (the box in image pixels; prints "x y" per landmark)
//
// A program that only runs models includes <pfld/infer.hpp> (no training stack: it compiles in a
// fraction of pfld.hpp's time); <pfld/io/image_file.hpp> only reads the photo (stb). CMake and Meson
// build it with PFLD_SEPARATE_COMPILATION: pfld_implementation.cpp compiles pfld's entry points once.
#include <pfld/io/image_file.hpp>
#include <pfld/infer.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

// argv[i] as a number, or an Error naming it.
float number(char** argv, int i) {
  char* end = nullptr;
  const float x = std::strtof(argv[i], &end);
  if (end == argv[i] || *end != '\0') throw pfld::Error(std::string("'") + argv[i] + "' is not a number");
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "pfld_embed: expected WEIGHTS IMAGE X Y W H (the face box in image pixels)\n");
    return 2;
  }
  try {
    // Built once: weights packed, memory reserved. (Detector::load also takes ONNX files; a host that ships
    // .pfld weights leaves the ONNX importer out of its binary this way.)
    pfld::Detector detector(pfld::load_inference_graph(argv[1]));
    const pfld::Image image = pfld::io::read_image(argv[2]);
    const pfld::Box face{number(argv, 3), number(argv, 4), number(argv, 5), number(argv, 6)};  // checked by detect
    for (const pfld::Point& p : detector.detect(image.view(), face)) std::printf("%.2f %.2f\n", p.x, p.y);
  } catch (const std::exception& e) {  // pfld::Error for bad input; std::bad_alloc and the like
    std::fprintf(stderr, "pfld_embed: %s\n", e.what());
    return 1;
  }
  return 0;
}
