// The pool behind elman::ThreadPool (private to the library): fork-join jobs
// of a few parts, part 0 on the calling thread and part p on worker p, with a
// barrier the parts of a job may meet at. Nothing in a job allocates,
// throws or makes a system call unless a thread has to sleep.
//
// Every wait polls first and sleeps only after a spin time (a futex, through
// std::atomic::wait): the passes' parts are balanced, so the others arrive
// within microseconds and a sleep, which costs a wake-up in the kernel, is
// the exception. Each thread adapts its spin time between a floor and the
// pool's: halved after a wait that had to sleep, doubled after one that did
// not. On a machine whose cores other processes also want, a thread that
// polls for long only burns its share of them while the thread it waits for
// is off its core; there it soon sleeps instead. The cost of one barrier on
// the machines of DESIGN.md §7 is measured by elman_bench_threads (README,
// "Threads").
#ifndef ELMAN_SRC_THREAD_POOL_H_
#define ELMAN_SRC_THREAD_POOL_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "elman/export.h"
#include "elman/threads.h"

namespace elman::internal {

class Part;

/// What a job runs once per part; `context` is the caller's.
using Task = void (*)(const void* context, const Part& part);

/// Consecutive [begin, end): one part's share of a range.
struct Range {
  size_t begin, end;
};

/// Part `index` of `count` of `units` units, all parts within one unit of
/// the same size.
constexpr Range ShareOf(size_t units, size_t index, size_t count) {
  return {units * index / count, units * (index + 1) / count};
}

}  // namespace elman::internal

namespace elman {

// Nested in an exported class, Impl would be exported too: it is not API.
struct ELMAN_NO_EXPORT ThreadPool::Impl {
  Impl(size_t threads, std::chrono::microseconds spin);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  size_t size() const { return size_; }

  /// Runs task(context, part) for parts 0 … parts − 1 (parts ≤ size()),
  /// part 0 on the calling thread, and returns when every part has
  /// returned; what the parts wrote is then visible to the caller. If
  /// another job holds the pool (another thread's pass, or a Run from
  /// inside a task), runs the task as one part on the calling thread
  /// instead.
  void Run(size_t parts, internal::Task task, const void* context) noexcept;

  /// Scales the least work the passes give a part
  /// (src/parallel_gemm-inl.h). Tests set 0: every product is then cut as
  /// finely as its tiles allow, so that small shapes take every path. Set
  /// it before the pool's first pass.
  double min_work_scale = 1.0;

 private:
  friend class internal::Part;
  // What each thread (0: the caller's) has of its own, on its own cache
  // line: a worker's word, the number of the last job it was given; and the
  // thread's current spin time.
  struct alignas(64) Slot {
    std::atomic<uint32_t> job{0};
    std::atomic<int64_t> spin_ns{0};
  };

  void Barrier(size_t part) noexcept;
  void Work(size_t worker) noexcept;
  // Returns once `word` no longer holds `value`: polls for the slot's spin
  // time, then sleeps; adapts the spin time (see the top of the file).
  void WaitWhile(const std::atomic<uint32_t>& word, uint32_t value,
                 Slot& slot) const noexcept;
  void Stop() noexcept;

  const size_t size_;
  const std::chrono::nanoseconds spin_;
  // More threads than hardware threads: a poll yields the core to the
  // thread being waited for instead of spinning on it.
  const bool oversubscribed_;

  // The job, written by its caller before the workers' words and read by
  // the workers after: plain data ordered by those words.
  internal::Task task_ = nullptr;
  const void* context_ = nullptr;
  size_t parts_ = 0;
  uint32_t jobs_ = 0;  // jobs started, the caller's count
  bool stopping_ = false;

  std::atomic<bool> busy_{false};                 // a job holds the pool
  alignas(64) std::atomic<uint32_t> running_{0};  // workers not yet done
  alignas(64) std::atomic<uint32_t> arrived_{0};  // parts at the barrier
  alignas(64) std::atomic<uint32_t> barrier_round_{0};
  std::unique_ptr<Slot[]> slots_;  // [size_]: 0 the caller, p worker p
  std::vector<std::thread> workers_;
};

}  // namespace elman

namespace elman::internal {

/// One part of a running job.
class Part {
 public:
  /// The only part of a job run on the calling thread alone.
  static Part Alone() { return Part(nullptr, 0, 1); }
  Part(ThreadPool::Impl* pool, size_t index, size_t count)
      : pool_(pool), index_(index), count_(count) {}

  size_t index() const { return index_; }
  size_t count() const { return count_; }
  /// This part's share of `units` units.
  Range Share(size_t units) const { return ShareOf(units, index_, count_); }
  /// Returns once every part of the job has called it: what each part wrote
  /// before its call is then visible to all. Every part must call it the
  /// same number of times.
  void Sync() const {
    if (count_ > 1) pool_->Barrier(index_);
  }

 private:
  ThreadPool::Impl* pool_;
  size_t index_, count_;
};

/// Where a pass runs: a pool (or the calling thread alone) and the GEMM
/// scratch (GemmArgs::pack) of each of its threads.
struct Team {
  ThreadPool::Impl* pool = nullptr;  ///< nullptr: the calling thread alone
  float* pack = nullptr;             ///< size() areas of pack_stride floats
  size_t pack_stride = 0;

  size_t size() const { return pool != nullptr ? pool->size() : 1; }
  float* PackOf(size_t part) const { return pack + part * pack_stride; }

  /// How many parts `work` is worth: at most size(), at least one, each at
  /// least `min_work_per_part` (times the pool's min_work_scale; with a
  /// scale of 0, size()).
  size_t PartsFor(double work, double min_work_per_part) const {
    if (pool == nullptr) return 1;
    const double least = min_work_per_part * pool->min_work_scale;
    if (least <= 0.0) return pool->size();
    const double parts = work / least;
    return parts < 2.0 ? 1 : std::min(pool->size(), static_cast<size_t>(parts));
  }
};

/// Runs run(part) for `parts` parts on the team (see ThreadPool::Impl::Run);
/// one part runs directly on the calling thread.
template <class Function>
void RunParts(const Team& team, size_t parts, const Function& run) {
  if (team.pool == nullptr || parts <= 1) {
    run(Part::Alone());
    return;
  }
  team.pool->Run(
      parts,
      [](const void* context, const Part& part) {
        (*static_cast<const Function*>(context))(part);
      },
      &run);
}

}  // namespace elman::internal

#endif  // ELMAN_SRC_THREAD_POOL_H_
