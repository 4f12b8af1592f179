// The one unit of pfld_embed that compiles pfld's entry points (the kernel table, the crop warp, image
// decoding, model loading): pfld_embed.cpp only declares them, so changing the host recompiles seconds
// of code, not the kernels of every ISA. Both units are built with PFLD_SEPARATE_COMPILATION
// (core/compilation.hpp).
#define PFLD_IMPLEMENTATION
#include <pfld/implementation.hpp>
