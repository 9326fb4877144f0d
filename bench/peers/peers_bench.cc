// elman_bench_peers: elman side by side with the implementations a user would
// otherwise pick (DESIGN.md §3, §6) — Eigen written two ways and, for the
// small B = 1 shapes, with compile-time sizes; oneDNN's vanilla RNN and
// matmul primitives; libtorch — on the same inputs, single-threaded.
//
// With --threads=N (N > 1), the same shapes for elman and oneDNN only, each
// on one thread and on N: elman with an elman::ThreadPool of N threads
// (implementation elman_threadsN), oneDNN with N OpenMP threads
// (onednn_threadsN; the program re-executes itself with OMP_NUM_THREADS=N,
// as oneDNN's documentation has it, and each oneDNN peer sets its own count
// with omp_set_num_threads), and the streaming step at H up to 1024.
// Wall-clock time then (the work is on several threads), and the agreement
// check also requires elman on N threads to give elman's bits.
//
// Before any timing, every implementation runs once per shape and its loss,
// inference output y and gradients dW, dU, db, dV, dc are compared with the
// double-precision elman::reference; every streaming step implementation runs
// kStreamInputs steps per H and its y and h at every step are compared with
// elman::Stream's (whose y is compared with the reference). Any disagreement
// aborts the program. --check_only runs just these checks (for CI).
//
// Benchmarks: TrainStep/<impl>/I:../H:../O:../T:../B:.. (forward + loss +
// backward), Forward/<impl>/... (the implementation's cheapest inference
// path) and StreamStep/<impl>/H:.. (one streaming step of one sequence,
// I = O = H/4, as elman_bench_passes' BM_StreamStep). Counters: GFLOP/s with
// forward = 2·T·B·H·(I+H+O) flops (T = B = 1 for a streaming step) and a
// train step counted as 3× forward (peer_problem.h), and ns_per_step = CPU
// time per iteration / T (one time step of all B sequences).
//
// This file is built with the project's flags (no -march): it runs elman
// through its dispatched public API; the peers' files carry -O3 -march=native.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "bench/peers/elman_peer.h"
#include "bench/peers/peer_problem.h"
#include "bench/peers/stream_peer.h"
#include "bench/roofline_probes.h"
#include "elman/elman.h"
#ifdef ELMAN_HAVE_EIGEN
#include "bench/peers/eigen_fixed.h"
#include "bench/peers/eigen_rnn.h"
#include "bench/peers/eigen_stream.h"
#endif
#ifdef ELMAN_HAVE_ONEDNN
#include "bench/peers/onednn_rnn.h"
#include "bench/peers/onednn_stream.h"
#endif
#ifdef ELMAN_HAVE_TORCH
#include "bench/peers/torch_rnn.h"
#endif

namespace elman::bench {
namespace {

// (I, H, O, T, B): latency shapes (B = 1), then throughput shapes.
constexpr PeerShape kShapes[] = {
    {1, 32, 1, 25, 1},       {16, 64, 16, 100, 1},   {64, 128, 64, 100, 1},
    {128, 256, 128, 100, 1}, {256, 512, 256, 50, 1}, {64, 128, 64, 100, 32},
    {256, 512, 256, 50, 64},
};

// The double reference is timed only up to this many forward flops (one of
// its train steps at (256,512,256,50,64) takes seconds).
constexpr double kReferenceMaxForwardFlops = 1e9;

// Agreement tolerance, on max |got − reference| / ‖reference‖∞ per quantity.
// Float rounding through a T-step recurrence with |tanh'| ≤ 1 and
// Glorot-scaled U grows about like √(T·K)·2⁻²⁴ (K = the longest dot product):
// at T ≤ 100 and K ≤ 512 about 1e-5; measured here, 4e-7…3e-6 for every
// implementation. 1e-3 leaves a wide margin for the peers' own summation
// orders and fast tanh, yet catches the classic BPTT bugs: a carry Uᵀ δ(t+1)
// dropped at one step gave errors of 5e-2…4e-1, not zeroing oneDNN's
// accumulating gradients ≥ 1, and src_iter left empty (DESIGN.md §6) 1.3…2.7
// in dU (each tried on a copy of these files).
constexpr double kTolerance = 1e-3;

constexpr uint64_t kSeed = 20240607;

// The shared inputs: Glorot weights (elman::Model::Initialize), small random
// biases, x and Y uniform in [−1, 1).
PeerProblem MakeProblem(const PeerShape& s) {
  Model model(Config{{s.input, s.hidden, s.output}}, kSeed);
  std::mt19937_64 random(kSeed + s.hidden * 131 + s.batch);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const auto draw = [&](size_t n, float scale) {
    std::vector<float> v(n);
    for (float& value : v) value = scale * uniform(random);
    return v;
  };
  const Parameters& w = model.parameters();
  PeerProblem p;
  p.shape = s;
  p.W.assign(w.W().begin(), w.W().end());
  p.U.assign(w.U().begin(), w.U().end());
  p.V.assign(w.V().begin(), w.V().end());
  p.b = draw(s.hidden, 0.1f);
  p.c = draw(s.output, 0.1f);
  p.x = draw(s.rows() * s.input, 1.0f);
  p.target = draw(s.rows() * s.output, 1.0f);
  return p;
}

// ------------------------------------- training step and forward (inference)

struct Implementation {
  std::string name;
  std::string label;  // shown beside every result
  bool train, infer;  // which benchmarks it takes part in
  std::function<std::unique_ptr<Peer>(const PeerProblem&)> make;
  // Whether it has the shape, for training (true) or inference (false);
  // empty: every shape.
  std::function<bool(const PeerShape&, bool)> covers;

  // Its loss, y and gradients must be elman's own, bit for bit (elman on a
  // thread pool).
  bool same_bits_as_elman = false;

  bool Covers(const PeerShape& s, bool for_training) const {
    return (for_training ? train : infer) &&
           (!covers || covers(s, for_training));
  }
};

std::vector<Implementation> Implementations() {
  std::vector<Implementation> all = {
      {"elman", "dispatched SIMD; Forward: elman::Stream", true, true,
       [](const PeerProblem& p) {
         return MakeElmanPeer(p, /*stream_inference=*/true);
       },
       nullptr},
      {"elman_forward", "training Forward (stores for Backward)", false, true,
       [](const PeerProblem& p) {
         return MakeElmanPeer(p, /*stream_inference=*/false);
       },
       nullptr},
  };
#ifdef ELMAN_HAVE_EIGEN
  all.push_back({"eigen_per_step", "Eigen 3.4, per-step loop", true, true,
                 MakeEigenPerStepPeer, nullptr});
  all.push_back({"eigen_hoisted", "Eigen 3.4, GEMMs hoisted (DESIGN 3)", true,
                 true, MakeEigenHoistedPeer, nullptr});
  all.push_back({"eigen_fixed",
                 "Eigen 3.4, compile-time sizes (B = 1, H <= 128)", true, true,
                 MakeEigenFixedPeer, EigenFixedCovers});
#endif
#ifdef ELMAN_HAVE_ONEDNN
  all.push_back({"onednn", "oneDNN vanilla_rnn + matmul; 1 thread", true, true,
                 [](const PeerProblem& p) { return MakeOneDnnPeer(p); },
                 nullptr});
#endif
#ifdef ELMAN_HAVE_TORCH
  all.push_back({"torch", "libtorch nn::RNN+Linear, autograd; 1 thread", true,
                 true, MakeTorchPeer, nullptr});
#endif
  return all;
}

// --threads=N: elman and oneDNN on one thread and on N.
std::vector<Implementation> ThreadedImplementations(size_t threads) {
  const std::string n = std::to_string(threads);
  std::vector<Implementation> all = {
      {"elman", "dispatched SIMD; Forward: elman::Stream; 1 thread", true, true,
       [](const PeerProblem& p) {
         return MakeElmanPeer(p, /*stream_inference=*/true);
       },
       nullptr},
      {"elman_threads" + n,
       "as elman, on an elman::ThreadPool of " + n + " threads", true, true,
       [threads](const PeerProblem& p) {
         return MakeElmanPeer(p, /*stream_inference=*/true, threads);
       },
       nullptr, /*same_bits_as_elman=*/true},
  };
#ifdef ELMAN_HAVE_ONEDNN
  all.push_back({"onednn", "oneDNN vanilla_rnn + matmul; 1 thread", true, true,
                 [](const PeerProblem& p) { return MakeOneDnnPeer(p, 1); },
                 nullptr});
  all.push_back({"onednn_threads" + n,
                 "oneDNN vanilla_rnn + matmul; " + n + " OpenMP threads", true,
                 true,
                 [threads](const PeerProblem& p) {
                   return MakeOneDnnPeer(p, static_cast<int>(threads));
                 },
                 nullptr});
#endif
  return all;
}

// Whether two training steps' results (and inference outputs) are the same
// bits.
bool SameBits(const Peer& a, const Peer& b) {
  const PeerResult x = a.Result(), y = b.Result();
  const auto same = [](std::span<const float> u, std::span<const float> v) {
    return u.size() == v.size() &&
           std::memcmp(u.data(), v.data(), u.size() * sizeof(float)) == 0;
  };
  return std::memcmp(&x.loss, &y.loss, sizeof(x.loss)) == 0 &&
         same(x.dW, y.dW) && same(x.dU, y.dU) && same(x.db, y.db) &&
         same(x.dV, y.dV) && same(x.dc, y.dc) &&
         same(a.InferOutput(), b.InferOutput());
}

// max |got − want| / max(‖want‖∞, tiny).
template <class Want>
double RelativeError(std::span<const float> got, const Want& want) {
  if (got.size() != want.size()) return INFINITY;
  double error = 0.0, norm = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    error = std::max(error, std::abs(static_cast<double>(got[i]) - want[i]));
    norm = std::max(norm, std::abs(static_cast<double>(want[i])));
  }
  return error / std::max(norm, 1e-30);
}

// Runs every implementation on every shape (TrainStep twice, to catch
// gradients that accumulate across calls, then Infer) and prints one line per
// shape: each implementation's largest relative error over loss, y, dW, dU,
// db, dV, dc and the quantity it was in. Returns false if any exceeds
// kTolerance.
bool CheckAgreement(const std::vector<Implementation>& implementations) {
  std::printf(
      "Agreement with elman::reference (double): max over loss, y, "
      "dW, dU, db, dV, dc of |got - ref|_inf / |ref|_inf, "
      "tolerance %.0e\n",
      kTolerance);
  bool all_ok = true;
  for (const PeerShape& s : kShapes) {
    const PeerProblem problem = MakeProblem(s);
    const ReferenceResult want = RunReference(problem);
    const std::vector<double> loss_want = {want.loss};
    std::unique_ptr<Peer> elman;  // what same_bits_as_elman is checked against

    std::string line =
        "I=" + std::to_string(s.input) + " H=" + std::to_string(s.hidden) +
        " O=" + std::to_string(s.output) + " T=" + std::to_string(s.steps) +
        " B=" + std::to_string(s.batch) + ":";
    for (const Implementation& impl : implementations) {
      if (!impl.train) continue;  // elman_forward: same TrainStep as elman
      // A peer that has the shape for inference only is checked on y only.
      const bool train = impl.Covers(s, /*for_training=*/true);
      if (!train && !impl.Covers(s, /*for_training=*/false)) continue;
      std::unique_ptr<Peer> peer = impl.make(problem);
      if (train) {
        peer->TrainStep();
        peer->TrainStep();
      }
      peer->Infer();
      const PeerResult got = peer->Result();
      const float loss_got[] = {static_cast<float>(got.loss)};
      const struct {
        const char* what;
        double error;
      } all_errors[] = {
          {"y", RelativeError(peer->InferOutput(), want.y)},
          {"loss", RelativeError(loss_got, loss_want)},
          {"dW", RelativeError(got.dW, want.dW)},
          {"dU", RelativeError(got.dU, want.dU)},
          {"db", RelativeError(got.db, want.db)},
          {"dV", RelativeError(got.dV, want.dV)},
          {"dc", RelativeError(got.dc, want.dc)},
      };
      const std::span errors(all_errors, train ? std::size(all_errors) : 1);
      const auto* worst = &errors[0];
      for (const auto& e : errors) {
        // A NaN error is the worst of all and stays so.
        if (std::isnan(worst->error)) break;
        if (std::isnan(e.error) || e.error > worst->error) worst = &e;
      }
      const bool ok = worst->error <= kTolerance;  // false for NaN
      const bool bits_ok =
          !impl.same_bits_as_elman || (elman && SameBits(*peer, *elman));
      all_ok = all_ok && ok && bits_ok;
      char cell[160];
      std::snprintf(cell, sizeof(cell), "  %s %.1e(%s)%s%s", impl.name.c_str(),
                    worst->error, worst->what, ok ? "" : " FAIL",
                    !impl.same_bits_as_elman ? ""
                    : bits_ok                ? " =elman bits"
                                             : " FAIL(not elman's bits)");
      line += cell;
      if (impl.name == "elman") elman = std::move(peer);
    }
    std::printf("%s\n", line.c_str());
  }
  std::printf("Agreement: %s\n", all_ok ? "all ok" : "FAILED");
  std::fflush(stdout);
  return all_ok;
}

void SetCounters(benchmark::State& state, const PeerShape& s, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  // (T · 1e-9 · iterations / seconds)⁻¹ = nanoseconds per time step.
  state.counters["ns_per_step"] =
      benchmark::Counter(static_cast<double>(s.steps) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}

PeerShape ShapeOf(const benchmark::State& state) {
  return {
      static_cast<size_t>(state.range(0)), static_cast<size_t>(state.range(1)),
      static_cast<size_t>(state.range(2)), static_cast<size_t>(state.range(3)),
      static_cast<size_t>(state.range(4))};
}

// Everything but the timed loop (problem, peer construction) is untimed.
void Run(benchmark::State& state, const Implementation& impl, bool train) {
  const PeerShape shape = ShapeOf(state);
  const std::unique_ptr<Peer> peer = impl.make(MakeProblem(shape));
  for (auto _ : state) {
    if (train) {
      peer->TrainStep();
    } else {
      peer->Infer();
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, shape,
              train ? TrainStepFlops(shape) : ForwardFlops(shape));
  state.SetLabel(impl.label);
}

void Register(const Implementation& impl, bool train, bool real_time) {
  const std::string name =
      std::string(train ? "TrainStep/" : "Forward/") + impl.name;
  auto* b = benchmark::RegisterBenchmark(
      name.c_str(),
      [impl, train](benchmark::State& state) { Run(state, impl, train); });
  b->ArgNames({"I", "H", "O", "T", "B"})->Unit(benchmark::kMicrosecond);
  // CPU time (the default), not wall time, when everything runs on this one
  // thread (OMP_NUM_THREADS=1): on a shared machine wall time also counts
  // the time other processes hold the core. With --threads, wall time: the
  // CPU time of this thread alone would leave the other threads' out.
  if (real_time) b->UseRealTime();
  const bool is_reference = impl.name == "reference";
  for (const PeerShape& s : kShapes) {
    if (is_reference && ForwardFlops(s) > kReferenceMaxForwardFlops) continue;
    if (!impl.Covers(s, train)) continue;
    b->Args({static_cast<int64_t>(s.input), static_cast<int64_t>(s.hidden),
             static_cast<int64_t>(s.output), static_cast<int64_t>(s.steps),
             static_cast<int64_t>(s.batch)});
  }
}

// ------------------------------------------------------------ streaming step

// StreamStep/<impl>/H:n, with I = O = H/4 and B = 1 (BM_StreamStep's shapes,
// plus H = 64); with --threads, also H = 1024, where U alone (4 MiB) fills
// two cores' L2.
constexpr size_t kStreamHidden[] = {32, 64, 128, 512};
constexpr size_t kStreamHiddenThreaded[] = {32, 64, 128, 512, 1024};

// The roofline's probes (bench/roofline_probes.h) at the working sets the
// bounds of these shapes read: U's 4·H² bytes for every pass, the
// streaming step's 6·H² bytes, and the reads of elman's panels where it
// uses them (H ≥ 128). With random interleaving they run between the
// repetitions of the code they bound; bench/plot.py takes each probe's best
// of this run and elman_bench_roofline's.
void RegisterRooflineProbes(std::span<const size_t> stream_hidden) {
  std::set<size_t> hidden_sizes;
  std::set<int64_t> sizes;
  for (const PeerShape& s : kShapes) {
    hidden_sizes.insert(s.hidden);
    sizes.insert(static_cast<int64_t>(4 * s.hidden * s.hidden));
  }
  for (const size_t h : stream_hidden) {
    hidden_sizes.insert(h);
    sizes.insert(static_cast<int64_t>(4 * h * h));
    sizes.insert(static_cast<int64_t>(6 * h * h));
  }
  RegisterFmaPeak();
  for (const int64_t bytes : sizes) RegisterLoadBandwidth(bytes);
  for (const size_t h : hidden_sizes) {
    if (h >= 128) RegisterPanelReads(static_cast<int64_t>(h));
  }
}

// The timed loop cycles through this many preallocated inputs x(t) while h
// keeps evolving (never reset); the agreement check runs this many steps.
constexpr size_t kStreamInputs = 16;

// The weights, biases and kStreamInputs inputs of the streaming step at H.
PeerShape StreamShape(size_t hidden) {
  return {hidden / 4, hidden, hidden / 4, kStreamInputs, 1};
}

// What one timed iteration (one step) counts: T = B = 1.
PeerShape OneStep(const PeerShape& s) {
  return {s.input, s.hidden, s.output, 1, 1};
}

struct StreamImplementation {
  std::string name;
  std::string label;  // shown beside every result
  std::function<std::unique_ptr<StreamPeer>(const PeerProblem&)> make;
  std::function<bool(size_t)> covers;  // has H? empty: every H

  bool Covers(size_t hidden) const { return !covers || covers(hidden); }
};

// elman first: it is what the others are checked against.
std::vector<StreamImplementation> StreamImplementations() {
  std::vector<StreamImplementation> all = {
      {"elman", "elman::Stream::Step, dispatched SIMD",
       [](const PeerProblem& p) { return MakeElmanStreamPeer(p); }, nullptr},
  };
#ifdef ELMAN_HAVE_EIGEN
  all.push_back({"eigen", "Eigen 3.4, col-major, 2 GEMVs + tanh + GEMV",
                 MakeEigenStreamPeer, nullptr});
  all.push_back({"eigen_fixed", "Eigen 3.4, compile-time sizes",
                 MakeEigenFixedStreamPeer, EigenFixedStreamCovers});
#endif
#ifdef ELMAN_HAVE_ONEDNN
  all.push_back({"onednn",
                 "oneDNN vanilla_rnn T=1 per step; dense layer in Eigen; "
                 "1 thread",
                 MakeOneDnnStreamPeer, nullptr});
#endif
  return all;
}

// --threads=N: elman::Stream on one thread and on N.
std::vector<StreamImplementation> ThreadedStreamImplementations(
    size_t threads) {
  const std::string n = std::to_string(threads);
  return {
      {"elman", "elman::Stream::Step, dispatched SIMD; 1 thread",
       [](const PeerProblem& p) { return MakeElmanStreamPeer(p); }, nullptr},
      {"elman_threads" + n,
       "elman::Stream::Step on an elman::ThreadPool of " + n + " threads",
       [threads](const PeerProblem& p) {
         return MakeElmanStreamPeer(p, threads);
       },
       nullptr},
  };
}

// y [T][O] and h [T][H] of kStreamInputs steps from h = 0, x(t) from
// problem.x.
struct StreamTrace {
  std::vector<float> y, h;
};

StreamTrace TraceOf(StreamPeer& peer, const PeerProblem& problem) {
  const size_t I = problem.shape.input, H = problem.shape.hidden,
               O = problem.shape.output;
  const std::span<const float> x = problem.x;
  StreamTrace trace{std::vector<float>(kStreamInputs * O),
                    std::vector<float>(kStreamInputs * H)};
  for (size_t t = 0; t < kStreamInputs; ++t) {
    peer.Step(x.subspan(t * I, I), std::span(trace.y).subspan(t * O, O));
    const std::span<const float> h = peer.Hidden();
    if (h.size() != H) return {};  // fails the check: sizes differ
    std::copy(h.begin(), h.end(), trace.h.begin() + t * H);
  }
  return trace;
}

// Runs every streaming implementation kStreamInputs steps at every H and
// prints one line per H: each peer's largest relative error against
// elman::Stream over y and h of all steps, and elman's y against the double
// reference. Returns false if any exceeds kTolerance.
bool CheckStreamAgreement(
    const std::vector<StreamImplementation>& implementations,
    std::span<const size_t> hidden_sizes) {
  std::printf(
      "Streaming step agreement, %zu steps from h = 0: elman::Stream's y vs "
      "elman::reference (double), each peer's y and h vs elman::Stream's, "
      "|got - want|_inf / |want|_inf, tolerance %.0e\n",
      kStreamInputs, kTolerance);
  bool all_ok = true;
  for (const size_t hidden : hidden_sizes) {
    const PeerProblem problem = MakeProblem(StreamShape(hidden));
    const std::unique_ptr<StreamPeer> elman = MakeElmanStreamPeer(problem);
    const StreamTrace want = TraceOf(*elman, problem);
    const double reference_error =
        RelativeError(want.y, RunReference(problem).y);
    bool ok = reference_error <= kTolerance;  // false for NaN
    all_ok = all_ok && ok;
    char cell[128];
    std::snprintf(cell, sizeof(cell), "H=%zu I=O=%zu:  elman %.1e(y vs ref)%s",
                  hidden, hidden / 4, reference_error, ok ? "" : " FAIL");
    std::string line = cell;
    for (const StreamImplementation& impl : implementations) {
      if (impl.name == "elman" || !impl.Covers(hidden)) {
        continue;
      }
      const std::unique_ptr<StreamPeer> peer = impl.make(problem);
      const StreamTrace got = TraceOf(*peer, problem);
      const double y_error = RelativeError(got.y, want.y);
      const double h_error = RelativeError(got.h, want.h);
      // A NaN error is the worst of all.
      const bool y_worst = std::isnan(y_error) || y_error >= h_error;
      const double worst = y_worst ? y_error : h_error;
      ok = worst <= kTolerance;  // false for NaN
      all_ok = all_ok && ok;
      std::snprintf(cell, sizeof(cell), "  %s %.1e(%s)%s", impl.name.c_str(),
                    worst, y_worst ? "y" : "h", ok ? "" : " FAIL");
      line += cell;
    }
    std::printf("%s\n", line.c_str());
  }
  std::printf("Streaming step agreement: %s\n", all_ok ? "all ok" : "FAILED");
  std::fflush(stdout);
  return all_ok;
}

// One step per iteration on the next of kStreamInputs inputs; h carries over
// from iteration to iteration, as in BM_StreamStep. Set-up is untimed.
void RunStream(benchmark::State& state, const StreamImplementation& impl) {
  const PeerShape shape = StreamShape(static_cast<size_t>(state.range(0)));
  const PeerProblem problem = MakeProblem(shape);
  const std::unique_ptr<StreamPeer> peer = impl.make(problem);
  const std::span<const float> x = problem.x;
  std::vector<float> y(shape.output);
  size_t t = 0;
  for (auto _ : state) {
    peer->Step(x.subspan(t * shape.input, shape.input), y);
    t = (t + 1) % kStreamInputs;
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, OneStep(shape), ForwardFlops(OneStep(shape)));
  state.SetLabel(impl.label);
}

void RegisterStream(const StreamImplementation& impl,
                    std::span<const size_t> hidden_sizes, bool real_time) {
  const std::string name = std::string("StreamStep/") + impl.name;
  auto* b = benchmark::RegisterBenchmark(
      name.c_str(),
      [impl](benchmark::State& state) { RunStream(state, impl); });
  b->ArgName("H")->Unit(benchmark::kNanosecond);
  if (real_time) b->UseRealTime();
  for (const size_t hidden : hidden_sizes) {
    if (!impl.Covers(hidden)) continue;
    b->Arg(static_cast<int64_t>(hidden));
  }
}

// ---------------------------------------------------------- process set-up

#ifdef ELMAN_HAVE_TORCH
// libtorch's CPU GEMMs go to the system BLAS (Debian: whichever library the
// libblas.so.3 alternative names). The netlib reference BLAS makes its train
// step 16× slower at (256,512,256,50,64) than OpenBLAS does (measured), so
// the context says which one this process has mapped.
std::string LoadedBlas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const size_t path = line.find('/');
    if (path != std::string::npos &&
        line.find("libblas.so", path) != std::string::npos) {
      return line.substr(path);
    }
  }
  return "none mapped";
}
#endif  // ELMAN_HAVE_TORCH

// libgomp (used by oneDNN and libtorch) reads OMP_NUM_THREADS once, in a
// constructor that runs when the library is loaded, i.e. before main: a
// setenv in main alone comes too late (measured: omp_get_max_threads() stays
// at the core count). So the very first thing main does, before any oneDNN
// or libtorch call, is setenv("OMP_NUM_THREADS", "<threads>") (1, or N of
// --threads=N) and, if it was not already that, re-execute this program with
// it.
void EnsureOpenMpThreads(char** argv, size_t threads) {
  const std::string wanted = std::to_string(threads);
  const char* current = std::getenv("OMP_NUM_THREADS");
  if (current != nullptr && wanted == current) return;
  setenv("OMP_NUM_THREADS", wanted.c_str(), /*overwrite=*/1);
  execv("/proc/self/exe", argv);
  std::fprintf(stderr,
               "elman_bench_peers: could not re-execute with "
               "OMP_NUM_THREADS=%s; run it with that set\n",
               wanted.c_str());
  std::exit(2);
}

// N of --threads=N (1 without it); 0 if the value is not a number ≥ 1.
size_t ThreadsArgument(int argc, char** argv) {
  constexpr const char kFlag[] = "--threads=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], kFlag, sizeof(kFlag) - 1) == 0) {
      char* end = nullptr;
      const unsigned long value =  // NOLINT(runtime/int)
          std::strtoul(argv[i] + sizeof(kFlag) - 1, &end, 10);
      return *end == '\0' ? value : 0;
    }
  }
  return 1;
}

}  // namespace
}  // namespace elman::bench

int main(int argc, char** argv) {
  using namespace elman::bench;  // NOLINT(build/namespaces)
  const size_t threads = ThreadsArgument(argc, argv);
  if (threads == 0) {
    std::fprintf(stderr, "elman_bench_peers: --threads=N wants N >= 1\n");
    return 1;
  }
  EnsureOpenMpThreads(argv, threads);
  const bool threaded = threads > 1;
  bool check_only = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--check_only") == 0) {
      check_only = true;
    } else if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      continue;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::vector<Implementation> implementations =
      threaded ? ThreadedImplementations(threads) : Implementations();
  const std::vector<StreamImplementation> stream_implementations =
      threaded ? ThreadedStreamImplementations(threads)
               : StreamImplementations();
  const std::span<const size_t> stream_hidden =
      threaded ? std::span<const size_t>(kStreamHiddenThreaded)
               : std::span<const size_t>(kStreamHidden);
  std::printf("elman target %s; OMP_NUM_THREADS=%zu%s\n",
              elman::CurrentTarget().c_str(), threads,
              threaded ? "" : " (single thread)");
  // Both checks run (and print) even if the first fails.
  const bool passes_agree = CheckAgreement(implementations);
  const bool streams_agree =
      CheckStreamAgreement(stream_implementations, stream_hidden);
  if (!passes_agree || !streams_agree) return 1;
  if (check_only) return 0;

  if (!threaded) {
    implementations.push_back({"reference", "double, textbook loops; allocates",
                               true, true, MakeReferencePeer, nullptr});
  }
  for (const Implementation& impl : implementations) {
    if (impl.train) Register(impl, /*train=*/true, threaded);
  }
  for (const Implementation& impl : implementations) {
    if (impl.infer) Register(impl, /*train=*/false, threaded);
  }
  for (const StreamImplementation& impl : stream_implementations) {
    RegisterStream(impl, stream_hidden, threaded);
  }
  if (!threaded) RegisterRooflineProbes(stream_hidden);
  benchmark::AddCustomContext(
      "threads", threaded ? "1 and " + std::to_string(threads) +
                                " (OMP_NUM_THREADS=" + std::to_string(threads) +
                                "), wall-clock time"
                          : std::string("1 (OMP_NUM_THREADS=1)"));
  benchmark::AddCustomContext("elman_target", elman::CurrentTarget());
  // Decided by the first large Workspace, which the checks above built.
  benchmark::AddCustomContext("elman_gemm_pack_a", elman::GemmPackingChoice());
#ifdef ELMAN_HAVE_TORCH
  benchmark::AddCustomContext("torch_blas", LoadedBlas());
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
