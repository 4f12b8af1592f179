// The replicas of a data-parallel training run, as the training code sees them: each replica (an MPI
// rank, say) holds the same network, trains on its own part of every global batch, and they agree
// through the few collective operations below. The interface keeps the library free of MPI:
// train/distributed.hpp implements it over MPI, and code that gets no group runs alone.
#pragma once

#include <cstddef>
#include <string>

#include "error.hpp"

namespace pfld {

// An error every replica raised together, from the same collective check (a shard too small, say):
// each replica throws it with the same message, so one of them (replica 0) reports it and the run ends
// without a hang. Any other error is one replica's alone: it reports it and aborts the run (abort()).
class ReplicaError : public Error {
 public:
  explicit ReplicaError(const std::string& what) : Error(what) {}
};

// Collective operations over every replica of one run. Each call is collective: every replica must make
// the same calls in the same order with the same counts, or the run hangs or fails (MPI's rule).
// Implementations are used from one thread per replica (the one that trains).
class ReplicaGroup {
 public:
  virtual ~ReplicaGroup() = default;

  virtual int rank() const = 0;  // 0 .. size() - 1; replica 0 validates and writes files
  virtual int size() const = 0;

  // values[i] = the sum of values[i] over every replica, the same on all of them.
  virtual void sum(double* values, std::size_t count) = 0;
  virtual void sum(float* values, std::size_t count) = 0;
  // values = replica `root`'s values, on every replica.
  virtual void broadcast(float* values, std::size_t count, int root) = 0;
  // The smallest of `value` over every replica.
  virtual long long min(long long value) = 0;
  // Ends every replica of the run with exit status `code` (the others may be waiting in a collective:
  // an error on one replica must end them all). Not collective.
  [[noreturn]] virtual void abort(int code) = 0;
};

}  // namespace pfld
