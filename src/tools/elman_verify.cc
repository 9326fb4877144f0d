// elman_verify: checks the SIMD code paths of elman on this machine against
// the naive double-precision reference (elman::reference). Random cases — odd
// shapes, every activation pair (f, g), B = 1 and B > 1, T ∈ {1, 7, 25},
// random non-zero h0, dx and dh0 requested, optional step weights — run
// through every SIMD target this CPU supports; for each target and each
// quantity the largest error over all cases is printed with PASS/FAIL. What
// is compared and how strictly is in verify_cases.h.
//
// Usage: elman_verify [--seed N] [--cases N] [--quiet]
// Exit status: 0 if everything passes, 1 on any FAIL, 2 on a usage error.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "verify_cases.h"

namespace elman::verify {
namespace {

struct Options {
  uint64_t seed = 1;
  size_t cases = kGridSize;
  bool quiet = false;
};

// The worst result of one quantity on one target over all cases.
struct Tally {
  double max_error = 0.0;
  double worst_ratio = 0.0;  // max over cases of error / tolerance
  double worst_error = 0.0;  // the error of that case
  std::string worst_case;
  bool pass() const { return worst_ratio <= 1.0; }
};

void PrintUsage(const char* program) {
  std::fprintf(stderr,
               "usage: %s [--seed N] [--cases N] [--quiet]\n"
               "  --seed N   random seed (default 1)\n"
               "  --cases N  cases per target (default %zu, the whole grid)\n"
               "  --quiet    print only the summary line\n",
               program, kGridSize);
}

// Parses the command line; false on a usage error.
bool ParseOptions(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quiet") {
      options.quiet = true;
      continue;
    }
    if ((arg != "--seed" && arg != "--cases") || i + 1 == argc) return false;
    const char* text = argv[++i];
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (*text == '\0' || *text == '-' || *end != '\0') return false;
    if (arg == "--seed") {
      options.seed = value;
    } else {
      if (value == 0) return false;
      options.cases = static_cast<size_t>(value);
    }
  }
  return true;
}

// printf into a std::string.
template <typename... Args>
std::string Format(const char* format, Args... args) {
  char buffer[256];
  std::snprintf(buffer, sizeof(buffer), format, args...);
  return buffer;
}

// Prints `line` without trailing blanks.
void PrintLine(std::string line) {
  line.erase(line.find_last_not_of(' ') + 1);
  std::printf("%s\n", line.c_str());
}

// Quantities down, targets across; each cell is the largest error over all
// cases and whether every case was within its own tolerance.
void PrintTable(const std::vector<std::string>& targets,
                const std::vector<std::array<Tally, kNum>>& tallies) {
  std::string line = Format("\n%-10s", "quantity");
  for (const auto& name : targets) line += Format("  %-14s", name.c_str());
  PrintLine(line);
  for (size_t q = 0; q < kNum; ++q) {
    line = Format("%-10s", kQuantityNames[q]);
    for (const auto& tally : tallies) {
      line += Format("  %9.2e %s", tally[q].max_error,
                     tally[q].pass() ? "PASS" : "FAIL");
    }
    PrintLine(line);
  }
  line = Format("%-10s", "error/tol");
  for (const auto& tally : tallies) {
    double worst = 0.0;
    for (const Tally& t : tally) worst = std::max(worst, t.worst_ratio);
    line += Format("  %9.2e     ", worst);
  }
  PrintLine(line);

  // The failures, or else the comparison that came closest to failing.
  size_t closest_target = 0, closest_quantity = 0;
  for (size_t t = 0; t < targets.size(); ++t) {
    for (size_t q = 0; q < kNum; ++q) {
      const Tally& tally = tallies[t][q];
      if (tally.worst_ratio >
          tallies[closest_target][closest_quantity].worst_ratio) {
        closest_target = t;
        closest_quantity = q;
      }
      if (tally.pass()) continue;
      std::printf("FAIL %s %s: error %.3g = %.3g x tolerance, worst at %s\n",
                  targets[t].c_str(), kQuantityNames[q], tally.worst_error,
                  tally.worst_ratio, tally.worst_case.c_str());
    }
  }
  const Tally& closest = tallies[closest_target][closest_quantity];
  if (closest.pass()) {
    std::printf("closest to its tolerance: %s %s, %.2g x, at %s\n",
                targets[closest_target].c_str(),
                kQuantityNames[closest_quantity], closest.worst_ratio,
                closest.worst_case.c_str());
  }
}

int Run(const Options& options) {
  const auto start = std::chrono::steady_clock::now();
  // Asked once, before any UseTarget narrows what the library reports.
  const std::vector<std::string> targets = AvailableTargets();
  if (targets.empty()) {
    std::fprintf(stderr, "elman_verify: no SIMD target available\n");
    return 2;
  }
  std::vector<std::array<Tally, kNum>> tallies(targets.size());
  std::mt19937_64 random(options.seed);
  double min_tolerance = std::numeric_limits<double>::infinity();
  double max_tolerance = 0.0;

  for (size_t i = 0; i < options.cases; ++i) {
    const Case c = MakeCase(i, random);
    const Problem problem(c, options.seed * kGridSize + i, random);
    const double tolerance = Tolerance(c);
    min_tolerance = std::min(min_tolerance, tolerance);
    max_tolerance = std::max(max_tolerance, tolerance);
    for (size_t t = 0; t < targets.size(); ++t) {
      UseTarget(targets[t]);
      if (CurrentTarget() != targets[t]) {
        std::fprintf(stderr, "elman_verify: asked for %s, running %s\n",
                     targets[t].c_str(), CurrentTarget().c_str());
        return 2;
      }
      const Errors errors = RunOnCurrentTarget(problem);
      for (size_t q = 0; q < kNum; ++q) {
        Tally& tally = tallies[t][q];
        tally.max_error = std::max(tally.max_error, errors[q]);
        if (errors[q] / tolerance > tally.worst_ratio) {
          tally.worst_ratio = errors[q] / tolerance;
          tally.worst_error = errors[q];
          tally.worst_case = Describe(c);
        }
      }
    }
  }
  UseBestTarget();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  bool pass = true;
  double worst_ratio = 0.0;
  for (const auto& tally : tallies) {
    for (const Tally& t : tally) {
      pass = pass && t.pass();
      worst_ratio = std::max(worst_ratio, t.worst_ratio);
    }
  }
  if (!options.quiet) {
    std::printf(
        "elman_verify: every SIMD target vs elman::reference (double), %zu "
        "cases each, seed %llu\n"
        "error = max|simd - ref| / scale; scale = max(|V| |h| + |c|) for y,\n"
        "  |L| + max(|V| |h| + |c|) * sum w|y - Y| for the loss, max|ref| of "
        "the whole\n"
        "  gradient (dW..dh0; at least that with g' := 1) for the gradients\n"
        "tolerance per case = 16 u (max(I,H,O) + T*H + T*B + 16), u = 2^-24: "
        "%.2e .. %.2e\n"
        "error/tol: the largest ratio over all cases of a target\n",
        options.cases, static_cast<unsigned long long>(options.seed),
        min_tolerance, max_tolerance);
    PrintTable(targets, tallies);
  }
  std::printf(
      "elman_verify: %s: %zu targets x %zu cases x %d quantities, worst "
      "error %.2g of its tolerance, %.1f s\n",
      pass ? "PASS" : "FAIL", targets.size(), options.cases,
      static_cast<int>(kNum), worst_ratio, seconds);
  return pass ? 0 : 1;
}

int Main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, options)) {
    PrintUsage(argv[0]);
    return 2;
  }
  try {
    return Run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "elman_verify: %s\n", e.what());
    return 2;
  }
}

}  // namespace
}  // namespace elman::verify

int main(int argc, char** argv) { return elman::verify::Main(argc, argv); }
