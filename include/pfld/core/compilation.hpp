// Header-only, or compiled once: how pfld's heavy entry points are compiled.
//
// By default pfld is header-only: every function is inline and each translation unit generates the code
// of what it calls. A host file that calls the Detector then compiles the kernels of every ISA, the
// runtime and the model loader each time it changes. A program that would rather compile those once
// (as stb's IMPLEMENTATION define or asio's separate compilation do):
//   - defines PFLD_SEPARATE_COMPILATION in every translation unit (the build system's -D), and
//   - compiles one source file that also defines PFLD_IMPLEMENTATION and includes
//     <pfld/implementation.hpp>.
// The entry points marked PFLD_ENTRY (the kernel table, the crop warp, image decoding, loading models
// and face detectors) are then declared in every unit and defined in that one; their headers leave out
// what only the definitions need (the ISA kernels, stb). Everything else stays inline.
// examples/pfld_embed.cpp is built this way (docs/ARCHITECTURE.md, 1).
#pragma once

#if defined(PFLD_IMPLEMENTATION) && !defined(PFLD_SEPARATE_COMPILATION)
#error "PFLD_IMPLEMENTATION names the one unit that defines pfld's entry points: define PFLD_SEPARATE_COMPILATION too"
#endif

#if defined(PFLD_SEPARATE_COMPILATION)
#define PFLD_ENTRY
#else
#define PFLD_ENTRY inline
#endif

// 1 where this translation unit defines the entry points (always, unless compiled separately).
#if !defined(PFLD_SEPARATE_COMPILATION) || defined(PFLD_IMPLEMENTATION)
#define PFLD_DEFINE_ENTRIES 1
#else
#define PFLD_DEFINE_ENTRIES 0
#endif
