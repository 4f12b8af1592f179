// main() of one tool: the build names it with -DPFLD_TOOL=pfld_<tool> (see tools.hpp).
#include "tools.hpp"

#ifndef PFLD_TOOL
#error "build with -DPFLD_TOOL=pfld_<tool>"
#endif

int main(int argc, char** argv) { return PFLD_TOOL::run(argc, argv); }
