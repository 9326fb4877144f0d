// This machine's single-core limits, the roofline each pass benchmark is
// judged against: the probes of bench/roofline_probes.h (FMA peak, and with
// a load per FMA; load bandwidth by working-set size, each way of reading
// it) over a ladder of sizes, 4 KiB to 64 MiB a factor of √2 apart, plus
// the exact working sets the bound needs: U's 4·H² bytes and the streaming
// step's 4·H·(I+H+O) = 6·H² bytes of W, U and V (I = O = H/4), H = 32 …
// 1024, with the reads of elman's panels at H ≥ 128. bench/summarize.py
// takes, at each size, the best of these reads: the bound must grant any
// kernel what the best way to read that many bytes gets.
//
// Names: BM_FmaPeak; BM_FmaLoadPeak;
// BM_LoadBandwidth/bytes:N/streams:S/zigzag:Z[/block:B | /hidden:H], as
// bench/roofline_probes.h describes.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "bench/roofline_probes.h"

namespace elman::bench {
namespace {

// The working-set sizes, ascending and distinct: 4 KiB · √2^k up to 64 MiB,
// U's 4·H² and the streaming step's 6·H² bytes for H = 32, 64, … 1024, each
// rounded down to kProbeSizeGrain.
std::vector<int64_t> WorkingSetSizes() {
  std::vector<int64_t> sizes;
  for (int k = 0; k <= 28; ++k) {
    const double size = 4096.0 * std::pow(2.0, 0.5 * k);
    sizes.push_back(static_cast<int64_t>(size) / kProbeSizeGrain *
                    kProbeSizeGrain);
  }
  for (int64_t h = 32; h <= 1024; h *= 2) {
    sizes.push_back(4 * h * h);  // U
    sizes.push_back(4 * h * (h / 4 + h + h / 4) / kProbeSizeGrain *
                    kProbeSizeGrain);
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

// The first processor's entries of /proc/cpuinfo that name the CPU, as
// context keys: "cpu_vendor", "cpu_model_name", "cpu_family" and
// "cpu_model" (decimal, as the file has them), so that the tables made from
// this file name the machine that measured it. Absent keys are left out.
void AddCpuContext() {
  static constexpr std::pair<const char*, const char*> kKeys[] = {
      {"vendor_id", "cpu_vendor"},
      {"model name", "cpu_model_name"},
      {"cpu family", "cpu_family"},
      {"model", "cpu_model"}};
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line) && !line.empty()) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const size_t start = line.find_first_not_of(' ', colon + 1);
    const std::string value =
        start == std::string::npos ? std::string() : line.substr(start);
    for (const auto& [file_key, context_key] : kKeys) {
      if (key == file_key) benchmark::AddCustomContext(context_key, value);
    }
  }
}

void RegisterAll() {
  RegisterFmaPeak();
  RegisterFmaLoadPeak();
  for (const int64_t bytes : WorkingSetSizes()) RegisterLoadBandwidth(bytes);
  for (int64_t h = 128; h <= 1024; h *= 2) RegisterPanelReads(h);
}

}  // namespace
}  // namespace elman::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("hwy_target", elman::bench::ProbeTarget());
  elman::bench::AddCpuContext();
  elman::bench::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
