// Training batches made ahead of the trainer by worker threads.
//
// Deterministic: the faces of batch b in epoch e come from a permutation seeded by (seed, e), and each
// crop's augmentation from an Rng seeded by (seed, e, b, slot), so the batches do not depend on how many
// workers there are or which of them finishes first.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "batch.hpp"
#include "augment.hpp"
#include "dataset.hpp"

namespace pfld {
inline namespace data {

class BatchLoader {
 public:
  BatchLoader(const FaceSet& set, int batch_size, AugmentOptions augment, MirrorMap mirror, std::uint64_t seed,
              int workers = 2, int prefetch = 4)
      : set_(set), batch_size_(batch_size), augment_(augment), mirror_(std::move(mirror)), seed_(seed),
        prefetch_(std::max(1, prefetch)) {
    for (std::uint32_t i = 0; i < set.size(); ++i) {
      detail::require(set.faces[i].draws >= 0, "BatchLoader: face ", set.faces[i].source, " drawn ", set.faces[i].draws,
                      " times an epoch");
      draws_.insert(draws_.end(), static_cast<std::size_t>(set.faces[i].draws), i);
    }
    detail::require(batch_size >= 1 && static_cast<std::size_t>(batch_size) <= draws_.size(), "BatchLoader: batch size ",
                    batch_size, " must be in 1..", draws_.size(), " (the faces an epoch draws)");
    if (!mirror_.empty()) validate_mirror_map(mirror_, "mirror map");
    detail::require(!augment_.enabled || augment_.flip_probability == 0.0f ||
                        mirror_.size() == static_cast<std::size_t>(set.landmark_count),
                    "BatchLoader: flips need a mirror map for ", set.landmark_count, " landmarks");
    for (int i = 0; i < std::max(1, workers); ++i) threads_.emplace_back([this] { work(); });
  }

  ~BatchLoader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (auto& t : threads_) t.join();
  }

  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Full batches per epoch (the last partial one is dropped, so BN never sees a tiny batch).
  int batch_size() const { return batch_size_; }
  int batches_per_epoch() const { return static_cast<int>(draws_.size()) / batch_size_; }

  // Starts from batch `index` (epoch * batches_per_epoch() + batch), e.g. when resuming.
  void seek(std::int64_t index) {
    std::lock_guard<std::mutex> lock(mutex_);
    ready_.clear();
    next_to_make_ = next_to_take_ = index;
    changed_.notify_all();
  }

  // The next batch in order; blocks until a worker has made it. Rethrows a worker's error.
  Batch next() {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::int64_t wanted = next_to_take_;
    changed_.wait(lock, [&] { return ready_.count(wanted) || error_; });
    if (error_) std::rethrow_exception(error_);
    Batch b = std::move(ready_[wanted]);
    ready_.erase(wanted);
    ++next_to_take_;
    changed_.notify_all();
    return b;
  }

  // The same batch, made on the calling thread (for tests of determinism).
  Batch make(std::int64_t index) const {
    const int per_epoch = batches_per_epoch();
    const std::int64_t epoch = index / per_epoch;
    const int within = static_cast<int>(index % per_epoch);
    const std::vector<std::uint32_t> order = permutation(epoch);
    const int s = 112, n_points = set_.landmark_count;
    const int classes = static_cast<int>(set_.scheme.names.size());
    Batch b;
    b.images = Tensor(Shape{batch_size_, s, s, 3});
    b.landmarks = Tensor(Shape{batch_size_, 2 * n_points});
    b.pose = Tensor(Shape{batch_size_, 3});
    if (classes > 0) b.attributes = Tensor(Shape{batch_size_, classes});
    for (int slot = 0; slot < batch_size_; ++slot) {
      const Face& face = set_.faces[order[static_cast<std::size_t>(within * batch_size_ + slot)]];
      Rng rng(mix(seed_, static_cast<std::uint64_t>(index), static_cast<std::uint64_t>(slot)));
      make_training_crop(face, augment_, mirror_.empty() ? nullptr : &mirror_, rng, s,
                         b.images.data() + static_cast<std::size_t>(slot) * s * s * 3,
                         b.landmarks.data() + static_cast<std::size_t>(slot) * 2 * n_points,
                         b.pose.data() + static_cast<std::size_t>(slot) * 3);
      for (int c = 0; c < classes; ++c)
        b.attributes[static_cast<std::size_t>(slot * classes + c)] = face.classes[static_cast<std::size_t>(c)];
    }
    return b;
  }

 private:
  static std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    Rng r(a ^ (b * 0x9e3779b97f4a7c15ull) ^ (c * 0xc2b2ae3d27d4eb4full));
    return r.next_u64();
  }

  // The faces of an epoch in order: draws_ shuffled.
  std::vector<std::uint32_t> permutation(std::int64_t epoch) const {
    std::vector<std::uint32_t> order = draws_;
    Rng rng(mix(seed_, static_cast<std::uint64_t>(epoch), 0xe90c7ull));
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(static_cast<std::uint32_t>(i))]);
    return order;
  }

  void work() {
    for (;;) {
      std::int64_t index;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return stopping_ || next_to_make_ < next_to_take_ + prefetch_; });
        if (stopping_) return;
        index = next_to_make_++;
      }
      try {
        Batch b = make(index);
        std::lock_guard<std::mutex> lock(mutex_);
        if (index >= next_to_take_) ready_[index] = std::move(b);  // else a seek() made it stale
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      changed_.notify_all();
    }
  }

  const FaceSet& set_;
  std::vector<std::uint32_t> draws_;  // face i listed faces[i].draws times
  int batch_size_;
  AugmentOptions augment_;
  MirrorMap mirror_;
  std::uint64_t seed_;
  std::int64_t prefetch_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::int64_t, Batch> ready_;
  std::int64_t next_to_make_ = 0, next_to_take_ = 0;
  std::exception_ptr error_;
  bool stopping_ = false;
};

}  // namespace data
}  // namespace pfld
