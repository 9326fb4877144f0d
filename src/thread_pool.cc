// elman::ThreadPool and its implementation (src/thread_pool.h).
//
// A job: the caller writes the task, then bumps the word of each worker that
// takes part (release); each worker, polling its own word (acquire), runs its
// part and counts itself out of running_; the caller runs part 0, then waits
// for running_ to reach 0 (acquire: the workers' writes are then visible).
// Each worker has its own word on its own cache line, so a job wakes only
// the workers it needs and none of them polls a line the others write.
//
// The barrier is a counter and a round number: each part adds itself to
// arrived_; the last one resets arrived_ and bumps the round (release),
// which the others are polling (acquire). The counter's read-modify-writes
// form one release sequence, so the last part has seen every part's writes
// before it releases the round.
#include "src/thread_pool.h"

#include <chrono>
#include <system_error>
#include <thread>

#include "src/validate.h"

namespace elman {
namespace {

// What a polling thread does between two looks at a word: tells the core
// (and a hyper-threaded sibling) that it is waiting.
inline void Pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

bool MoreThreadsThanHardware(size_t threads) {
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware != 0 && threads > hardware;
}

// Reads of the clock are spaced by this many polls (a read costs about as
// much as a few dozen polls).
constexpr uint32_t kPollsPerClockRead = 64;

// The least a thread's adaptive spin time falls to: long enough for the
// waits inside a pass (a barrier's partner is rarely more than this late
// when both have a core), short against a sleep's wake-up.
constexpr std::chrono::nanoseconds kMinSpin = std::chrono::microseconds(2);

}  // namespace

ThreadPool::Impl::Impl(size_t threads, std::chrono::microseconds spin)
    : size_(threads),
      spin_(spin),
      oversubscribed_(MoreThreadsThanHardware(threads)),
      slots_(std::make_unique<Slot[]>(threads)) {
  for (size_t thread = 0; thread < threads; ++thread) {
    slots_[thread].spin_ns.store(spin_.count(), std::memory_order_relaxed);
  }
  workers_.reserve(threads - 1);
  try {
    for (size_t worker = 1; worker < threads; ++worker) {
      workers_.emplace_back([this, worker] { Work(worker); });
    }
  } catch (...) {
    Stop();
    throw;
  }
}

ThreadPool::Impl::~Impl() { Stop(); }

void ThreadPool::Impl::Stop() noexcept {
  stopping_ = true;
  ++jobs_;
  for (size_t worker = 1; worker <= workers_.size(); ++worker) {
    slots_[worker].job.store(jobs_, std::memory_order_seq_cst);
    slots_[worker].job.notify_one();
  }
  for (std::thread& thread : workers_) thread.join();
  workers_.clear();
}

void ThreadPool::Impl::WaitWhile(const std::atomic<uint32_t>& word,
                                 uint32_t value, Slot& slot) const noexcept {
  if (word.load(std::memory_order_acquire) != value) return;
  // Only this thread writes its spin time: relaxed is enough.
  const std::chrono::nanoseconds spin(
      slot.spin_ns.load(std::memory_order_relaxed));
  const auto start = std::chrono::steady_clock::now();
  for (uint32_t polls = 1;; ++polls) {
    if (oversubscribed_) {
      std::this_thread::yield();
    } else {
      Pause();
    }
    if (word.load(std::memory_order_acquire) != value) {
      if (spin < spin_) {
        slot.spin_ns.store(std::min(spin_, 2 * spin).count(),
                           std::memory_order_relaxed);
      }
      return;
    }
    if (polls % kPollsPerClockRead == 0 &&
        std::chrono::steady_clock::now() - start > spin) {
      break;
    }
  }
  // Sleeps in the kernel until notified (and rechecks: wait may return
  // spuriously).
  while (word.load(std::memory_order_acquire) == value) {
    word.wait(value, std::memory_order_acquire);
  }
  // A wait that spin_ would have covered (a pass's serial stretch between
  // two jobs, a partner late at a barrier) doubles the spin time back
  // towards spin_; only a longer one (the caller's own work between passes,
  // a core taken by another process) halves it. Halving after every sleep
  // let the spin ratchet down to kMinSpin on a training step, whose loss
  // and checks between Forward and Backward take tens of microseconds: the
  // workers then slept, and paid a wake-up, at nearly every job (five
  // futex calls a Forward at (64,128,64,100,32), Zen 5).
  const bool covered = std::chrono::steady_clock::now() - start <= spin_;
  slot.spin_ns.store(
      (covered ? std::min<std::chrono::nanoseconds>(spin_, 2 * spin)
               : std::max(std::min<std::chrono::nanoseconds>(kMinSpin, spin_),
                          spin / 2))
          .count(),
      std::memory_order_relaxed);
}

void ThreadPool::Impl::Work(size_t worker) noexcept {
  Slot& slot = slots_[worker];
  uint32_t seen = 0;
  for (;;) {
    WaitWhile(slot.job, seen, slot);
    seen = slot.job.load(std::memory_order_acquire);
    if (stopping_) return;
    task_(context_, internal::Part(this, worker, parts_));
    if (running_.fetch_sub(1, std::memory_order_seq_cst) == 1) {  // see Run
      running_.notify_one();
    }
  }
}

void ThreadPool::Impl::Run(size_t parts, internal::Task task,
                           const void* context) noexcept {
  if (parts > size_) parts = size_;
  if (parts <= 1 || busy_.exchange(true, std::memory_order_acquire)) {
    task(context, internal::Part::Alone());
    return;
  }
  task_ = task;
  context_ = context;
  parts_ = parts;
  ++jobs_;
  running_.store(static_cast<uint32_t>(parts - 1), std::memory_order_relaxed);
  // Every store that a sleeping thread may wait on is seq_cst, not only
  // release: libstdc++ 12's notify_one skips the wake-up when it sees no
  // registered waiter, and a release store may still sit in the store
  // buffer while that check reads the waiter count, just as the waiter
  // registers and reads the old value — a lost wake-up (a fork and join
  // with sleeping workers hung once in elman_bench_threads, 2026-11-30).
  // A seq_cst store (xchg on x86) orders the store before the check.
  for (size_t worker = 1; worker < parts; ++worker) {
    slots_[worker].job.store(jobs_, std::memory_order_seq_cst);
    slots_[worker].job.notify_one();
  }
  task(context, internal::Part(this, 0, parts));
  for (uint32_t left; (left = running_.load(std::memory_order_acquire)) != 0;) {
    WaitWhile(running_, left, slots_[0]);
  }
  busy_.store(false, std::memory_order_release);
}

void ThreadPool::Impl::Barrier(size_t part) noexcept {
  // No part can bump the round before this one has arrived, so this is the
  // round this part arrives in.
  const uint32_t round = barrier_round_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == parts_) {
    arrived_.store(0, std::memory_order_relaxed);
    barrier_round_.store(round + 1, std::memory_order_seq_cst);  // see Run
    barrier_round_.notify_all();
  } else {
    WaitWhile(barrier_round_, round, slots_[part]);
  }
}

ThreadPool::ThreadPool(size_t threads, std::chrono::microseconds spin) {
  if (threads == 0) internal::Fail("elman::ThreadPool", "threads is 0");
  if (spin.count() < 0) {
    internal::Fail("elman::ThreadPool", "spin is negative");
  }
  impl_ = std::make_unique<Impl>(threads, spin);
}

ThreadPool::~ThreadPool() = default;

size_t ThreadPool::size() const { return impl_->size(); }

}  // namespace elman
