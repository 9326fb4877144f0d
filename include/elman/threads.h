// Opt-in threads. elman never starts a thread by itself: a pass runs on the
// calling thread alone unless its Workspace, Stream or Trainer was given a
// ThreadPool, which the caller creates (its threads start then, never in a
// pass) and owns.
#ifndef ELMAN_THREADS_H_
#define ELMAN_THREADS_H_

#include <chrono>
#include <cstddef>
#include <memory>

#include "elman/export.h"

namespace elman {

/// A fixed set of threads that the passes of a Workspace or Stream built with
/// it share their work with: the thread that calls a pass and size() − 1
/// workers, started by the constructor and joined by the destructor.
///
/// What it guarantees:
///  - Results never depend on the pool: every pass gives bit for bit what it
///    gives on one thread, whatever size() is (the work is cut along rows
///    and columns of each product's result, never along a sum).
///  - A pass still allocates nothing and throws nothing on valid input.
///  - Work too small to pay for the synchronisation runs on the calling
///    thread alone (each product is split only above a size measured on
///    the machines elman runs on), so a pool never makes a small model
///    slower.
///  - One pool may serve any number of Workspaces and Streams, even ones
///    used at the same time by different threads: a pass that finds the
///    pool busy with another pass runs on its own thread alone (with the
///    same results).
///
/// A waiting thread (a worker between jobs, any thread at a barrier) polls
/// for up to `spin` before it sleeps, so that passes called back to back do
/// not pay for waking it; while polling it holds its core. Each thread
/// doubles its polling time (up to `spin`) after a wait no longer than
/// `spin` and halves it after a longer one, so that where other processes
/// want the cores it soon stops burning its share of them. A pool larger
/// than the machine's hardware threads yields the core at every poll.
///
/// The pool must outlive every Workspace, Stream and Trainer given it.
class ELMAN_EXPORT ThreadPool {
 public:
  /// Polling time of an idle thread before it sleeps (see above).
  static constexpr std::chrono::microseconds kDefaultSpin{100};

  /// `threads` ≥ 1 threads in all, counting the caller's: starts
  /// threads − 1 workers. Throws Error if threads is 0, and std::system_error
  /// if the system cannot start a thread.
  explicit ThreadPool(size_t threads,
                      std::chrono::microseconds spin = kDefaultSpin);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Threads a pass may use, the caller's included.
  size_t size() const;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace elman

#endif  // ELMAN_THREADS_H_
