// The command-line tools' entry points: each tool is one file, examples/pfld_<tool>.cpp, in its own
// namespace. All of them compile into one library, as one translation unit: every program that runs a
// network compiles pfld's kernels for every ISA, and a tool's own code is small, so eight tools built
// together take about a quarter of the time they take apart. Each executable is tool_main.cpp.
#pragma once

namespace pfld { class ReplicaGroup; }

// pfld_train: one process (replicas null), or one rank of a data-parallel run (tool_main.cpp, with MPI).
namespace pfld_train { int run(int argc, char** argv, pfld::ReplicaGroup* replicas = nullptr); }
namespace pfld_eval { int run(int argc, char** argv); }
namespace pfld_detect { int run(int argc, char** argv); }
namespace pfld_convert { int run(int argc, char** argv); }
namespace pfld_info { int run(int argc, char** argv); }
namespace pfld_contact_sheet { int run(int argc, char** argv); }
namespace pfld_face_calibration { int run(int argc, char** argv); }
namespace pfld_label { int run(int argc, char** argv); }
