// main() of one tool: the build names it with -DPFLD_TOOL=pfld_<tool> (see tools.hpp). pfld_train built
// with MPI (-DPFLD_TOOL_MPI, where CMake or Meson finds MPI) runs as one process or as every rank of
// `mpirun -np N`: the ranks train one network together (train/distributed.hpp).
#include "tools.hpp"

#ifndef PFLD_TOOL
#error "build with -DPFLD_TOOL=pfld_<tool>"
#endif

#if defined(PFLD_TOOL_MPI)
#include <pfld/train/distributed.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (!pfld::train::launched_by_mpi()) return PFLD_TOOL::run(argc, argv, nullptr);  // no MPI runtime to start
  try {
    pfld::train::MpiSession mpi(argc, argv);
    pfld::train::MpiReplicas replicas;
    return PFLD_TOOL::run(argc, argv, replicas.size() > 1 ? &replicas : nullptr);
  } catch (const std::exception& e) {  // (MPI itself failed: the tool reports its own errors)
    std::fprintf(stderr, "pfld_train: %s\n", e.what());
    return 1;
  }
}
#else
int main(int argc, char** argv) { return PFLD_TOOL::run(argc, argv); }
#endif
