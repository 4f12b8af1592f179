// What the CPU can run, and which instruction set pfld's kernels use.
//
// x86-64: CPUID for the feature bits plus XGETBV, because the OS must also save the wider registers
// (a CPU with AVX-512 under an OS that does not enable it must not run AVX-512 code).
// AArch64: NEON (Advanced SIMD) is part of the base architecture, so it is a compile-time fact.
#pragma once

#include <cstdlib>
#include <string>

#include "error.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#define PFLD_ARCH_X86_64 1
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#elif defined(__aarch64__) || defined(_M_ARM64)
#define PFLD_ARCH_AARCH64 1
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#endif

// The SIMD kernel families this build compiles: on x86-64, AVX2 and AVX-512 unless the host leaves one
// out (-DPFLD_KERNELS_AVX512=0, -DPFLD_KERNELS_AVX2=0; the same in every translation unit): a host whose
// CPUs are known compiles less and ships a smaller binary. An ISA left out counts as unsupported, so the
// best one compiled runs (kernel_table gives the reference's kernels for the others).
// Likewise -DPFLD_KERNELS_INT8=0 leaves out the SIMD int8 kernels (a host that ships float weights):
// int8 files still run, on the reference's int8 kernels; and -DPFLD_KERNELS_TRAINING=0 the training
// passes of every ISA (batch norm's, the depthwise backward: a host that only infers), which the
// training layers then refuse with an Error.
#if !defined(PFLD_KERNELS_AVX2)
#define PFLD_KERNELS_AVX2 1
#endif
#if !defined(PFLD_KERNELS_INT8)
#define PFLD_KERNELS_INT8 1
#endif
#if !defined(PFLD_KERNELS_TRAINING)
#define PFLD_KERNELS_TRAINING 1
#endif
#if !defined(PFLD_KERNELS_AVX512)
#define PFLD_KERNELS_AVX512 1
#endif
#if defined(PFLD_ARCH_X86_64) && PFLD_KERNELS_AVX2
#define PFLD_COMPILE_AVX2 1
#endif
#if defined(PFLD_ARCH_X86_64) && PFLD_KERNELS_AVX512
#define PFLD_COMPILE_AVX512 1
#endif

namespace pfld {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
  // The 8-bit dot-product instructions the int8 kernels use where present (kernels/int8_gemm.hpp):
  // vpdpbusd on zmm (AVX-512 VNNI) and on ymm (AVX-VNNI, AVX2 machines), sdot (ARMv8.2 dot product).
  bool avx512vnni = false;
  bool avxvnni = false;
  bool neon = false;
  bool neon_dot = false;
};

// The kernel families; `ref` is the portable scalar reference that every other one is tested against.
enum class Isa { ref, avx2, avx512, neon };

inline const char* to_string(Isa isa) {
  switch (isa) {
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
    default: return "ref";
  }
}

namespace detail {

#if defined(PFLD_ARCH_X86_64)
inline void cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
#if defined(_MSC_VER)
  int r[4];
  __cpuidex(r, static_cast<int>(leaf), static_cast<int>(subleaf));
  for (int i = 0; i < 4; ++i) regs[i] = static_cast<unsigned>(r[i]);
#else
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#endif
}

inline unsigned long long xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
#endif
}
#endif

inline CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if defined(PFLD_ARCH_X86_64)
  unsigned r[4] = {0, 0, 0, 0};
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  cpuid(1, 0, r);
  const bool osxsave = (r[2] >> 27) & 1;
  const bool fma = (r[2] >> 12) & 1;
  if (!osxsave || max_leaf < 7) return f;
  const unsigned long long xcr0 = xgetbv0();
  const bool os_saves_ymm = (xcr0 & 0x6) == 0x6;             // SSE and AVX state
  const bool os_saves_zmm = os_saves_ymm && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM0-15 high, ZMM16-31
  cpuid(7, 0, r);
  const unsigned ebx = r[1];
  f.avx2 = os_saves_ymm && ((ebx >> 5) & 1);
  f.fma = os_saves_ymm && fma;
  f.avx512f = os_saves_zmm && ((ebx >> 16) & 1);
  f.avx512dq = os_saves_zmm && ((ebx >> 17) & 1);
  f.avx512bw = os_saves_zmm && ((ebx >> 30) & 1);
  f.avx512vl = os_saves_zmm && ((ebx >> 31) & 1);
  f.avx512vnni = os_saves_zmm && ((r[2] >> 11) & 1);
  if (r[0] >= 1) {  // (leaf 7's highest subleaf)
    cpuid(7, 1, r);
    f.avxvnni = os_saves_ymm && ((r[0] >> 4) & 1);
  }
#elif defined(PFLD_ARCH_AARCH64)
  f.neon = true;
#if defined(__linux__)
  f.neon_dot = (getauxval(AT_HWCAP) & (1ul << 20)) != 0;  // HWCAP_ASIMDDP
#endif
#endif
  return f;
}

}  // namespace detail

inline const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detail::detect_cpu_features();
  return features;
}

// Whether this build has kernels of `isa` (PFLD_KERNELS_*; NEON on AArch64, the reference everywhere).
constexpr bool isa_compiled(Isa isa) {
  switch (isa) {
    case Isa::ref: return true;
#if defined(PFLD_COMPILE_AVX2)
    case Isa::avx2: return true;
#endif
#if defined(PFLD_COMPILE_AVX512)
    case Isa::avx512: return true;
#endif
#if defined(PFLD_ARCH_AARCH64)
    case Isa::neon: return true;
#endif
    default: return false;
  }
}

// Whether this CPU runs `isa` and this build has its kernels.
inline bool isa_supported(Isa isa) {
  if (!isa_compiled(isa)) return false;
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::ref: return true;
    case Isa::avx2: return f.avx2 && f.fma;
    case Isa::avx512: return f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.fma;
    case Isa::neon: return f.neon;
  }
  return false;
}

inline Isa best_isa() {
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::neon})
    if (isa_supported(isa)) return isa;
  return Isa::ref;
}

inline Isa parse_isa(const std::string& name) {
  for (Isa isa : {Isa::ref, Isa::avx2, Isa::avx512, Isa::neon})
    if (name == to_string(isa)) return isa;
  detail::fail("unknown ISA '", name, "' (expected ref, avx2, avx512 or neon)");
}

// The ISA the kernels use: PFLD_ISA from the environment when set (an unsupported choice is an error,
// never a silent fallback), else the best this CPU supports. Read once per process.
inline Isa active_isa() {
  static const Isa isa = [] {
    const char* forced = std::getenv("PFLD_ISA");
    if (!forced || !*forced) return best_isa();
    const Isa wanted = parse_isa(forced);
    detail::require(isa_compiled(wanted), "PFLD_ISA=", forced, ": this build leaves its kernels out");
    detail::require(isa_supported(wanted), "PFLD_ISA=", forced, ": this CPU does not support it");
    return wanted;
  }();
  return isa;
}

}  // namespace pfld
