// The pool behind elman::ThreadPool (src/thread_pool.h) on its own: every
// part of a job runs once, on the thread the design says; a barrier lets no
// part through before all have arrived and makes every part's writes visible
// to all; a pool busy with one job runs another caller's job on that
// caller's thread alone; waits that outlast the spin time sleep and still
// wake. .ci/sanitize runs this under ThreadSanitizer too.
#include "src/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "elman/error.h"
#include "elman/threads.h"
#include "gtest/gtest.h"

namespace elman {
namespace {

using internal::Part;
using internal::RunParts;
using internal::Team;

Team TeamOf(ThreadPool& pool) { return {&pool.impl(), nullptr, 0}; }

TEST(ThreadPoolTest, RejectsZeroThreads) {
  EXPECT_THROW(ThreadPool(0), Error);
  EXPECT_THROW(ThreadPool(2, std::chrono::microseconds(-1)), Error);
}

TEST(ThreadPoolTest, EveryPartRunsOnceWithItsIndex) {
  for (size_t threads : {1u, 2u, 3u, 5u}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (size_t parts = 1; parts <= threads + 2; ++parts) {
      std::vector<std::atomic<int>> runs(threads);
      std::atomic<int> wrong_count{0};
      const std::thread::id caller = std::this_thread::get_id();
      std::atomic<int> part0_elsewhere{0};
      RunParts(TeamOf(pool), parts, [&](const Part& part) {
        ++runs[part.index()];
        if (part.count() != std::min(parts, threads)) ++wrong_count;
        if (part.index() == 0 && std::this_thread::get_id() != caller) {
          ++part0_elsewhere;
        }
      });
      for (size_t p = 0; p < threads; ++p) {
        EXPECT_EQ(runs[p].load(), p < std::min(parts, threads) ? 1 : 0)
            << "threads " << threads << ", parts " << parts << ", part " << p;
      }
      EXPECT_EQ(wrong_count.load(), 0);
      EXPECT_EQ(part0_elsewhere.load(), 0) << "part 0 is the caller's";
    }
  }
}

TEST(ThreadPoolTest, ShareCoversTheRangeInOrder) {
  for (size_t units : {0u, 1u, 5u, 64u, 1001u}) {
    for (size_t count = 1; count <= 4; ++count) {
      size_t next = 0;
      for (size_t index = 0; index < count; ++index) {
        const internal::Range range = internal::ShareOf(units, index, count);
        EXPECT_EQ(range.begin, next);
        EXPECT_LE(range.end - range.begin, units / count + 1);
        next = range.end;
      }
      EXPECT_EQ(next, units);
    }
  }
}

// Each round, every part writes its own slot, meets the others, and reads
// every slot: all must hold this round's values. A barrier that let a part
// through early, or did not order the writes, fails it.
void CheckBarrier(ThreadPool& pool, int rounds) {
  const size_t parts = pool.size();
  std::vector<int> slots(parts, -1);  // plain: the barrier orders them
  std::atomic<int> stale{0};
  RunParts(TeamOf(pool), parts, [&](const Part& part) {
    for (int round = 0; round < rounds; ++round) {
      slots[part.index()] = round;
      part.Sync();
      for (size_t p = 0; p < parts; ++p) {
        if (slots[p] != round) ++stale;
      }
      part.Sync();  // nobody writes the next round before all have read
    }
  });
  EXPECT_EQ(stale.load(), 0) << pool.size() << " threads";
}

TEST(ThreadPoolTest, BarrierOrdersEveryPartsWrites) {
  for (size_t threads : {2u, 3u, 4u}) {
    ThreadPool pool(threads);
    CheckBarrier(pool, 500);
  }
}

// With no spin at all, every wait sleeps in the kernel: the slow path works
// for jobs, joins and barriers.
TEST(ThreadPoolTest, WaitsThatSleepStillWake) {
  ThreadPool pool(3, std::chrono::microseconds(0));
  CheckBarrier(pool, 200);
  for (int job = 0; job < 200; ++job) {
    std::atomic<int> parts_run{0};
    RunParts(TeamOf(pool), 3, [&](const Part&) { ++parts_run; });
    ASSERT_EQ(parts_run.load(), 3);
  }
  // Workers long asleep wake for a new job.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::atomic<int> parts_run{0};
  RunParts(TeamOf(pool), 3, [&](const Part&) { ++parts_run; });
  EXPECT_EQ(parts_run.load(), 3);
}

// A job started from inside a task, and jobs of two threads at once: the
// one that finds the pool busy runs alone on its caller's thread.
TEST(ThreadPoolTest, BusyPoolRunsTheJobOnItsCallerAlone) {
  ThreadPool pool(2);
  std::atomic<int> nested_parts{0}, nested_alone{0};
  RunParts(TeamOf(pool), 2, [&](const Part& part) {
    RunParts(TeamOf(pool), 2, [&](const Part& inner) {
      ++nested_parts;
      if (inner.count() == 1) ++nested_alone;
      inner.Sync();  // a no-op when alone: must not wait for anybody
    });
    part.Sync();
  });
  EXPECT_EQ(nested_parts.load(), 2);
  EXPECT_EQ(nested_alone.load(), 2);

  constexpr int kJobs = 300;
  std::atomic<int> wrong{0};
  auto caller = [&] {
    for (int job = 0; job < kJobs; ++job) {
      std::atomic<int> parts_run{0};
      size_t count = 0;
      RunParts(TeamOf(pool), 2, [&](const Part& part) {
        ++parts_run;
        if (part.index() == 0) count = part.count();
      });
      if (parts_run.load() != static_cast<int>(count)) ++wrong;
    }
  };
  std::thread other(caller);
  caller();
  other.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ThreadPoolTest, MorePartsThanCoresStillFinish) {
  ThreadPool pool(8);
  CheckBarrier(pool, 100);
}

}  // namespace
}  // namespace elman
