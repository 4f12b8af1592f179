// Where the weights pfld ships (weights/ in the source tree) are found at run time.
//
// In order: the environment variable PFLD_WEIGHTS_DIR (a program moved to another machine); the macro of
// that name, which CMake's pfld::pfld target and Meson's dependency define (the source tree's weights/
// for a build tree, add_subdirectory or a subproject; <prefix>/share/pfld/weights for find_package);
// else the place beside this header's own, as the compiler found it (pkg-config's -I, a copied tree):
// <root>/include/pfld/io/ -> <root>/share/pfld/weights (installed) or <root>/weights (source tree).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "../core/error.hpp"

namespace pfld::io {

// The directory, or an empty string when none is known.
inline std::string shipped_weights_dir() {
  if (const char* dir = std::getenv("PFLD_WEIGHTS_DIR"); dir && *dir) return dir;
#ifdef PFLD_WEIGHTS_DIR
  return PFLD_WEIGHTS_DIR;
#else
  const std::filesystem::path here = std::filesystem::path(__FILE__).parent_path();
  for (const char* up : {"../../../share/pfld/weights", "../../../weights"}) {
    const std::filesystem::path dir = (here / up).lexically_normal();
    if (std::ifstream(dir / "README.md").good()) return dir.string();
  }
  return {};
#endif
}

// The path of shipped file `name` ("pfld-0.25x-68.pfld", "face_detection_yunet_2023mar.onnx"); an
// Error that says how to point pfld at it when the directory is unknown or lacks the file.
inline std::string shipped_weights(const std::string& name) {
  const std::string dir = shipped_weights_dir();
  detail::require(!dir.empty(), "cannot find pfld's shipped ", name,
                  ": set PFLD_WEIGHTS_DIR to the directory that holds it (pfld's weights/)");
  const std::string path = dir + "/" + name;
  detail::require(std::ifstream(path).good(), "cannot find pfld's shipped ", name, " in ", dir,
                  " (PFLD_WEIGHTS_DIR): missing or unreadable");
  return path;
}

}  // namespace pfld::io
