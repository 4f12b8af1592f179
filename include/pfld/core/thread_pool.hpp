// A small fork-join thread pool on std::thread: parallel_for over an index range.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "error.hpp"

namespace pfld {

class ThreadPool {
 public:
  // `threads` counts the calling thread too: ThreadPool(1) runs everything inline, no worker threads.
  // 0 means one per hardware thread.
  explicit ThreadPool(int threads = 0) {
    detail::require(threads >= 0, "ThreadPool: thread count must be >= 0, got ", threads);
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    size_ = threads;
    workers_.reserve(static_cast<std::size_t>(threads - 1));
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Splits [begin, end) into at most size() contiguous chunks of at least `grain` indices and calls
  // body(chunk_begin, chunk_end) for each, on the workers and the calling thread; returns when all are
  // done and rethrows the first exception a chunk threw. The split depends only on the range, the grain
  // and size(), so a fixed thread count gives reproducible results. A call from inside a chunk (nested
  // parallelism) runs serially on the calling thread.
  void parallel_for(std::size_t begin, std::size_t end, const std::function<void(std::size_t, std::size_t)>& body,
                    std::size_t grain = 1) {
    if (end <= begin) return;
    const std::size_t count = end - begin;
    grain = std::max<std::size_t>(grain, 1);
    const std::size_t chunks = std::min(static_cast<std::size_t>(size_), (count + grain - 1) / grain);
    if (chunks <= 1 || in_pool_task()) {
      body(begin, end);
      return;
    }
    std::lock_guard<std::mutex> one_job_at_a_time(submit_mutex_);
    const Job job{&body, begin, count, chunks};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = job;
      next_chunk_.store(0);
      chunks_left_ = chunks;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    run_chunks(job);
    std::unique_lock<std::mutex> lock(mutex_);
    // Workers that picked the job up must leave it before `body` goes out of scope.
    done_.wait(lock, [this] { return chunks_left_ == 0 && active_workers_ == 0; });
    job_.body = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  struct Job {
    const std::function<void(std::size_t, std::size_t)>* body = nullptr;
    std::size_t begin = 0, count = 0, chunks = 0;
  };

  static bool& in_pool_task() {
    thread_local bool inside = false;
    return inside;
  }

  void worker_loop() {
    std::size_t seen = 0;
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        job = job_;
        if (!job.body) continue;  // woke after the job was over
        ++active_workers_;
      }
      run_chunks(job);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_workers_ == 0 && chunks_left_ == 0) done_.notify_all();
    }
  }

  // Claims chunks of `job` until none is left.
  void run_chunks(const Job& job) {
    std::size_t finished = 0;
    for (std::size_t i; (i = next_chunk_.fetch_add(1)) < job.chunks;) {
      const std::size_t lo = job.begin + job.count * i / job.chunks;
      const std::size_t hi = job.begin + job.count * (i + 1) / job.chunks;
      in_pool_task() = true;
      try {
        (*job.body)(lo, hi);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      in_pool_task() = false;
      ++finished;
    }
    if (finished == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    chunks_left_ -= finished;
    if (chunks_left_ == 0 && active_workers_ == 0) done_.notify_all();
  }

  int size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex submit_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  Job job_;
  std::atomic<std::size_t> next_chunk_{0};
  std::size_t chunks_left_ = 0;
  int active_workers_ = 0;
  std::size_t generation_ = 0;
  std::exception_ptr error_;
  bool stopping_ = false;
};

namespace detail {
inline std::unique_ptr<ThreadPool>& default_pool_slot() {
  static std::unique_ptr<ThreadPool> pool;
  return pool;
}
}  // namespace detail

// The process-wide pool the layers use unless told otherwise; one thread per core by default.
inline ThreadPool& default_thread_pool() {
  auto& slot = detail::default_pool_slot();
  if (!slot) slot = std::make_unique<ThreadPool>(0);
  return *slot;
}

// Replaces the default pool. Not thread-safe: call it at start-up, not while work is running.
inline void set_num_threads(int threads) { detail::default_pool_slot() = std::make_unique<ThreadPool>(threads); }

}  // namespace pfld
