// The one translation unit of a separately compiled program that defines pfld's entry points
// (core/compilation.hpp): a source file of the program holds
//
//   #define PFLD_IMPLEMENTATION   // with PFLD_SEPARATE_COMPILATION defined for every unit
//   #include <pfld/implementation.hpp>
//
// and nothing else. It includes every header that defines an entry point.
#pragma once

#if !defined(PFLD_IMPLEMENTATION)
#error "<pfld/implementation.hpp> is for the unit that defines PFLD_IMPLEMENTATION (core/compilation.hpp)"
#endif

#include "infer.hpp"
#include "io/image_file.hpp"
