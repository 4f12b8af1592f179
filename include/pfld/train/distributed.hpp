// Data-parallel training over MPI (Open MPI, MPICH): the one header of pfld that includes <mpi.h>.
// Opt-in: pfld.hpp does not include it, and a program that does links MPI (CMake: MPI::MPI_CXX, Meson:
// dependency('mpi')). Everything else of a distributed run is MPI-free library code: the trainer
// averages gradients over a ReplicaGroup (train/trainer.hpp), batch norm can synchronise its statistics
// through one (kernels/batch_norm.hpp), fit steps, stops and writes files as one (train/fit.hpp), and
// train/data_parallel.hpp shards the faces.
//
//   pfld::train::MpiSession mpi(argc, argv);          // MPI_Init ... MPI_Finalize
//   pfld::train::MpiReplicas replicas;                // every rank of MPI_COMM_WORLD
//   records = pfld::train::shard(records, replicas);  // this rank's faces: every size()-th one
//   trainer.set_replicas(&replicas, /*synchronise_batch_norm=*/true);
//   pfld::train::fit(trainer, ...);                   // rank 0 validates and writes the files
//
// Run: mpirun -np 4 pfld_train ... (README, "Train across machines"; docs/DISTRIBUTED.md for scaling).
#pragma once

// The C API only: the MPI C++ bindings are deprecated (and do not compile warning-free).
#if !defined(OMPI_SKIP_MPICXX)
#define OMPI_SKIP_MPICXX 1
#endif
#if !defined(MPICH_SKIP_MPICXX)
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/replica_group.hpp"
#include "data_parallel.hpp"

namespace pfld::train {

namespace detail_mpi {

inline std::string message_of(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(length));
}

inline void check(int code, const char* call) {
  if (code != MPI_SUCCESS) detail::fail("MPI: ", call, " failed: ", message_of(code));
}

// MPI counts are ints: long buffers go in pieces.
template <class Call>
void in_pieces(std::size_t count, Call&& call) {
  constexpr std::size_t kPiece = std::size_t{1} << 30;
  for (std::size_t at = 0; at < count; at += kPiece) call(at, static_cast<int>(std::min(kPiece, count - at)));
}

}  // namespace detail_mpi

// Whether a launcher (mpirun / mpiexec of Open MPI, MPICH or Intel MPI; srun with PMI or PMIx) started
// this process, read from the environment it sets. A program started alone can then skip MPI_Init, and
// the runtime it would start, and run as one process.
inline bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

// MPI for the life of the object: initialises it (MPI_THREAD_FUNNELED: only the thread that made the
// session calls MPI; pfld's worker threads never do) unless something else already did, and finalises
// what it initialised. Errors on MPI_COMM_WORLD are returned and become pfld::Error, except where a
// rank is gone: then MPI ends the job. One per process; not copyable.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      int provided = 0;
      detail_mpi::check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_ = true;
      detail::require(provided >= MPI_THREAD_FUNNELED, "MPI: this library gives thread level ", provided,
                      ", pfld needs MPI_THREAD_FUNNELED");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  ~MpiSession() {
    if (owns_) MPI_Finalize();
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

 private:
  bool owns_ = false;
};

// Every rank of `comm` a replica (requires an MpiSession, or MPI initialised otherwise). The same thread
// makes every call, in the same order on every rank (ReplicaGroup's contract).
class MpiReplicas final : public ReplicaGroup {
 public:
  explicit MpiReplicas(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    detail_mpi::check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    detail_mpi::check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void sum(double* values, std::size_t count) override {
    detail_mpi::in_pieces(count, [&](std::size_t at, int n) {
      detail_mpi::check(MPI_Allreduce(MPI_IN_PLACE, values + at, n, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
    });
  }
  void sum(float* values, std::size_t count) override {
    detail_mpi::in_pieces(count, [&](std::size_t at, int n) {
      detail_mpi::check(MPI_Allreduce(MPI_IN_PLACE, values + at, n, MPI_FLOAT, MPI_SUM, comm_), "MPI_Allreduce");
    });
  }
  void broadcast(float* values, std::size_t count, int root) override {
    detail_mpi::in_pieces(count, [&](std::size_t at, int n) {
      detail_mpi::check(MPI_Bcast(values + at, n, MPI_FLOAT, root, comm_), "MPI_Bcast");
    });
  }
  long long min(long long value) override {
    long long out = 0;
    detail_mpi::check(MPI_Allreduce(&value, &out, 1, MPI_LONG_LONG, MPI_MIN, comm_), "MPI_Allreduce");
    return out;
  }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(comm_, code);
    std::abort();  // (MPI_Abort does not return)
  }

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace pfld::train
