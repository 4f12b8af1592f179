// The data side of data-parallel training, over any ReplicaGroup (train/distributed.hpp's MPI one):
// each replica loads its own shard of the training faces, and they agree on what depends on all of
// them (shard sizes, class statistics). MPI-free.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/replica_group.hpp"
#include "../data/dataset.hpp"

namespace pfld::train {

// This replica's shard of `records`: records rank, rank + size, rank + 2 size, ... Every face lands in
// exactly one shard and the shards differ in size by at most one.
template <class T>
std::vector<T> shard(const std::vector<T>& records, const ReplicaGroup& replicas) {
  std::vector<T> out;
  for (std::size_t i = static_cast<std::size_t>(replicas.rank()); i < records.size(); i += static_cast<std::size_t>(replicas.size()))
    out.push_back(records[i]);
  return out;
}

// Every replica holds at least `faces_needed` faces of `what` in its shard (`faces`), else the same
// ReplicaError on every replica, naming the shards that fall short. Collective.
inline void require_shards(std::size_t faces, std::size_t faces_needed, ReplicaGroup& replicas, const std::string& what) {
  std::vector<double> counts(static_cast<std::size_t>(replicas.size()), 0.0);
  counts[static_cast<std::size_t>(replicas.rank())] = static_cast<double>(faces);
  replicas.sum(counts.data(), counts.size());
  std::string short_ranks;
  double total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    total += counts[r];
    if (counts[r] < static_cast<double>(faces_needed))
      short_ranks += (short_ranks.empty() ? "" : ", ") + std::to_string(r) + " (" + std::to_string(static_cast<long long>(counts[r])) + ")";
  }
  if (!short_ranks.empty())
    throw ReplicaError(cat(what, ": ", static_cast<long long>(total), " faces over ", replicas.size(),
                                   " ranks leave too few in the shard of rank ", short_ranks, ": each needs at least ",
                                   faces_needed, " (its part of one batch)"));
}

// set.classes over the union of every replica's shard (each replica loaded its own), so every replica
// weighs the loss by the whole training set's class shares. Collective.
inline void share_class_statistics(FaceSet& set, ReplicaGroup& replicas) {
  if (set.scheme.names.empty()) return;
  std::vector<double> counts = class_counts(set);
  replicas.sum(counts.data(), counts.size());
  detail::require(counts.back() > 0, "class statistics: no faces on any rank");
  set.classes = class_statistics_from_counts(counts);
}

}  // namespace pfld::train
