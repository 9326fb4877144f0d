#!/usr/bin/env python3
"""Summarizes elman's Google Benchmark JSON output as plain-text tables.

Usage:
  summarize.py [--time cpu|real] RESULT.json [MORE.json ...]

Each RESULT.json is what a benchmark program writes with
--benchmark_out=FILE --benchmark_out_format=json, with or without
--benchmark_repetitions=N and --benchmark_report_aggregates_only=true.

For every benchmark the MEDIAN over the repetitions is used: the "median"
aggregate when the file has one, else the median of the individual runs (a
single run is its own median). Printed, per shape: the median time of elman
and of the scalar reference for Forward and TrainStep, the speed-up
(reference time / elman time, both from the same file, i.e. the same run),
GFLOP/s and ns per time step; then Inference and StreamStep; then the
roofline (FMA peak; load bandwidth by working-set size) when a file holds
it, and elman's GFLOP/s as a percentage of that peak. Every table's title
names the CPU (model name, family/model, microarchitecture when known) and
the date of the run.

The "roof us" column is a lower bound on the time from that roofline (see
Roofline below); "% roof" is that bound over the measured median time.

Times are CPU times by default (less disturbed by other processes on a shared
machine; the counters' rates are computed from CPU time too); --time real
uses wall-clock time.
"""

import argparse
import bisect
import json
import math
import statistics
import sys

# Microseconds per unit of Google Benchmark's "time_unit".
_MICROSECONDS = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}

# Keys of a benchmark entry that are not user counters.
_NOT_COUNTERS = {
    "name", "family_index", "per_family_instance_index", "run_name",
    "run_type", "repetitions", "repetition_index", "threads", "iterations",
    "real_time", "cpu_time", "time_unit", "aggregate_name", "aggregate_unit",
    "label", "error_occurred", "error_message", "bytes_per_second",
    "items_per_second",
}


def load(paths):
    """Returns (contexts, entries): every file's context and benchmarks."""
    contexts, entries = [], []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        contexts.append(data.get("context", {}))
        entries.extend(data.get("benchmarks", []))
    return contexts, entries


def medians(entries, time_key):
    """Maps run_name -> {"time_us", counters..., "label", "repetitions",
    "best"}: the medians, and under "best" each counter's largest value
    over the repetitions (the "max" aggregate elman_bench_roofline adds,
    else the largest of the runs) — a rate's best, for the limits."""
    runs, aggregates, cvs, maxima, order = {}, {}, {}, {}, []
    for entry in entries:
        if entry.get("error_occurred"):
            continue
        name = entry.get("run_name", entry["name"])
        if name not in order:
            order.append(name)
        if entry.get("run_type") == "aggregate":
            if entry.get("aggregate_name") == "median":
                aggregates[name] = entry
            elif entry.get("aggregate_name") == "cv":
                cvs[name] = entry[time_key]
            elif entry.get("aggregate_name") == "max":
                maxima[name] = entry
        else:
            runs.setdefault(name, []).append(entry)

    result = {}
    for name in order:
        if name in aggregates:
            chosen = [aggregates[name]]
        elif name in runs:
            chosen = runs[name]
        else:
            continue
        scale = _MICROSECONDS[chosen[0].get("time_unit", "ns")]
        summary = {
            "time_us": statistics.median(e[time_key] for e in chosen) * scale,
            "label": chosen[0].get("label", ""),
            "repetitions": chosen[0].get("repetitions", len(chosen)),
        }
        # Spread of the repetitions: coefficient of variation of the time.
        times = [e[time_key] for e in runs.get(name, [])]
        if name in cvs:
            summary["cv"] = cvs[name]
        elif len(times) > 1 and statistics.mean(times) > 0:
            summary["cv"] = statistics.stdev(times) / statistics.mean(times)
        counters = {k for e in chosen for k in e if k not in _NOT_COUNTERS}
        for key in counters:
            values = [e[key] for e in chosen
                      if isinstance(e.get(key), (int, float))]
            if values:
                summary[key] = statistics.median(values)
        summary["best"] = largest_counters(maxima.get(name),
                                           runs.get(name, []), counters)
        result[name] = summary
    return result


def largest_counters(maximum, runs, counters):
    """{counter: largest value}: from the "max" aggregate entry if there is
    one, else over the individual runs."""
    chosen = [maximum] if maximum else runs
    best = {}
    for key in counters:
        values = [e[key] for e in chosen
                  if isinstance(e.get(key), (int, float))]
        if values:
            best[key] = max(values)
    return best


def best_of(summary, key):
    """The counter's best repetition (see medians), else its median."""
    return summary.get("best", {}).get(key, summary.get(key))


def merge_best(results_list):
    """medians() of several runs of the same probes (elman_bench_roofline
    before and after the benchmarks it bounds) as one: each run_name's
    summary from the first run that has it, its "best" counters the largest
    over all of them. A bound taken from probes on both sides of what it
    bounds is not beaten by code that ran while the machine was faster."""
    merged = {}
    for results in results_list:
        for name, summary in results.items():
            if name not in merged:
                merged[name] = dict(summary,
                                    best=dict(summary.get("best", {})))
                continue
            best = merged[name]["best"]
            for key in set(best) | set(summary.get("best", {})):
                value = best_of(summary, key)
                if isinstance(value, (int, float)):
                    best[key] = max(best.get(key, value), value)
    return merged


def split_name(name):
    """'BM_Forward/elman/I:1/H:32/...' -> ('Forward', 'elman', 'I:1 H:32 ...')."""
    parts = name.split("/")
    kind = parts[0][3:] if parts[0].startswith("BM_") else parts[0]
    impl = parts[1] if len(parts) > 1 else ""
    shape = " ".join(parts[2:])
    return kind, impl, shape


def fmt(value, digits=1):
    """A number for a table cell; '-' when missing."""
    if value is None:
        return "-"
    if abs(value) >= 1e5:
        return f"{value:.3g}"
    return f"{value:.{digits}f}"


def print_table(title, header, rows):
    """Prints an aligned table: first column left, the others right."""
    if not rows:
        return
    cells = [header] + rows
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row):
        return "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(row))

    print(title)
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    print()


def percent_of(value, peak):
    if value is None or not peak:
        return None
    return 100.0 * value / peak


def forward_flops(shape):
    """Flops of one forward pass, as bench_util.h's ForwardFlops counts them:
    2·T·B·H·(I+H+O). `shape` maps "I", "H", "O", "T", "B" to ints."""
    i, h, o = shape["I"], shape["H"], shape["O"]
    t, b = shape["T"], shape["B"]
    return 2.0 * t * b * h * (i + h + o)


def backward_flops(shape):
    """Flops of one backward pass with dx and dh0, as bench_util.h's
    BackwardFlops(s, /*with_dx=*/true) counts them."""
    i, h, o = shape["I"], shape["H"], shape["O"]
    t, b = shape["T"], shape["B"]
    return (4.0 * t * b * o * h + 4.0 * (t - 1) * b * h * h
            + 4.0 * t * b * h * i + 2.0 * b * h * h)


def train_step_flops(shape):
    """Flops of one training step, as bench_util.h's TrainStepFlops counts
    them: forward + backward with dx and dh0 (the loss is not counted)."""
    return forward_flops(shape) + backward_flops(shape)


# Microarchitecture names: (vendor, family, model) -> name, then
# (vendor, family) -> name for families that hold one microarchitecture.
# Family and model are the decimal numbers of /proc/cpuinfo.
_MICROARCHITECTURES = {
    ("GenuineIntel", 6, 85): "Skylake-SP / Cascade Lake",
    ("GenuineIntel", 6, 106): "Ice Lake-SP",
    ("GenuineIntel", 6, 108): "Ice Lake-D",
    ("GenuineIntel", 6, 143): "Sapphire Rapids",
    ("GenuineIntel", 6, 207): "Emerald Rapids",
    ("GenuineIntel", 6, 173): "Granite Rapids",
    ("AuthenticAMD", 23, 49): "Zen 2",
    ("AuthenticAMD", 25, 1): "Zen 3",
    ("AuthenticAMD", 25, 17): "Zen 4",
    ("AuthenticAMD", 25, 160): "Zen 4c",
}
_MICROARCHITECTURE_FAMILIES = {
    ("AuthenticAMD", 26): "Zen 5",
}


def microarchitecture(vendor, family, model):
    """The microarchitecture's name, or None when this table lacks it."""
    try:
        family, model = int(family), int(model)
    except (TypeError, ValueError):
        return None
    return (_MICROARCHITECTURES.get((vendor, family, model))
            or _MICROARCHITECTURE_FAMILIES.get((vendor, family)))


def local_cpu():
    """This machine's first processor from /proc/cpuinfo, as the context
    keys elman_bench_roofline writes (cpu_vendor, cpu_model_name, cpu_family,
    cpu_model); {} when the file is unreadable."""
    keys = {"vendor_id": "cpu_vendor", "model name": "cpu_model_name",
            "cpu family": "cpu_family", "model": "cpu_model"}
    cpu = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                if key.strip() in keys:
                    cpu[keys[key.strip()]] = value.strip()
    except OSError:
        pass
    return cpu


def machine_name(contexts):
    """'AMD EPYC (family 26, model 2: Zen 5)': the CPU that measured, from
    the first context that names it (elman_bench_roofline records it), else
    from this machine's /proc/cpuinfo."""
    cpu = next((c for c in contexts if "cpu_model_name" in c), None)
    cpu = cpu or local_cpu()
    if not cpu:
        return "unknown CPU"
    family, model = cpu.get("cpu_family", "?"), cpu.get("cpu_model", "?")
    details = f"family {family}, model {model}"
    arch = microarchitecture(cpu.get("cpu_vendor"), family, model)
    if arch:
        details += f": {arch}"
    return f"{cpu.get('cpu_model_name', '?')} ({details})"


def machine_tag(contexts):
    """'AMD EPYC (family 26, model 2: Zen 5), 2026-11-30': the CPU and the
    date of the first context that has one; every table's title ends with
    it."""
    date = next((c["date"][:10] for c in contexts if c.get("date")), "?")
    return f"{machine_name(contexts)}, {date}"


def load_bandwidth_ladder(results):
    """[(bytes, GB/s)] ascending in bytes, from the runs
    BM_LoadBandwidth/bytes:N/streams:S/zigzag:Z: at each size the best of
    the ways of reading it (one stream, four, alternating direction,
    alternating the order of blocks, a streaming step's order).
    Sizes whose name lacks bytes:N (an older roofline file) are skipped."""
    best = {}
    for name, summary in results.items():
        parts = name.split("/")
        if parts[0] != "BM_LoadBandwidth" or "GB/s" not in summary:
            continue
        args = dict(part.partition(":")[::2] for part in parts[1:])
        try:
            size = int(args["bytes"])
        except (KeyError, ValueError):
            continue
        best[size] = max(best.get(size, 0.0), best_of(summary, "GB/s"))
    return sorted(best.items())


def envelope(ladder):
    """The ladder with each bandwidth raised to the best measured at any
    larger size. A smaller working set fits wherever a larger one does (an
    LRU cache holds every prefix of a stream a bigger one would keep), so a
    dip below a larger size's figure is noise, and the bound must not charge
    it."""
    result, best = [], 0.0
    for size, gbps in reversed(ladder):
        best = max(best, gbps)
        result.append((size, best))
    return result[::-1]


class Roofline:
    """A lower bound on a pass's time from the FMA peak and the load
    bandwidth measured as a function of the working-set size.

    The model (DESIGN.md §3): the products over all T·B rows (input and
    output projections, the weight gradients, dx) run at best at the FMA
    peak; each sequential product with U (the recurrence, eq. 7.10, and the
    carry, eq. 7.15, once per step, a vector at B = 1 and a B-row GEMM above;
    dh0) costs at least the larger of its flops at the peak and U's 4·H²
    bytes at the bandwidth measured at 4·H² bytes; a streaming step costs at
    least the larger of its flops at the peak and the 4·H·(I+H+O) bytes of W,
    U and V at the bandwidth measured at that size. With h0 = 0 the t = 0
    recurrence product is zero and need not run: it is not charged.
    Activations, elementwise work and the x, h, y traffic are left out, so
    the bound is optimistic: "% roof" stays below 100 even for ideal code.

    The bandwidth at a size is read off the ladder of elman_bench_roofline:
    the best way of reading at each size, raised to the envelope (see
    envelope()), interpolated linearly in log(size) between the two
    neighbouring sizes; outside the ladder the nearest end's figure holds
    (no extrapolation of the trend). The peak and the bandwidths are each
    probe's best repetition (see medians): a limit measured on a shared
    machine is only ever underestimated, and a bound must not be beaten by
    code timed at a quieter moment.
    """

    def __init__(self, results, contexts=()):
        self.peak = best_of(results.get("BM_FmaPeak", {}), "GFLOP/s")
        # FMAs with a load each (informative; None in older files).
        self.load_fma_peak = best_of(results.get("BM_FmaLoadPeak", {}),
                                     "GFLOP/s")
        self.measured = load_bandwidth_ladder(results)
        self.ladder = envelope(self.measured)
        self.machine = machine_tag(list(contexts))

    def usable(self):
        """True when the file held the FMA peak and a bandwidth ladder."""
        return bool(self.peak and self.ladder)

    def bandwidth_at(self, working_set_bytes):
        """GB/s for a pass that reads `working_set_bytes` over and over."""
        sizes = [size for size, _ in self.ladder]
        if working_set_bytes <= sizes[0]:
            return self.ladder[0][1]
        if working_set_bytes >= sizes[-1]:
            return self.ladder[-1][1]
        upper = bisect.bisect_left(sizes, working_set_bytes)
        (s0, b0), (s1, b1) = self.ladder[upper - 1], self.ladder[upper]
        if s1 == working_set_bytes:
            return b1
        fraction = math.log(working_set_bytes / s0) / math.log(s1 / s0)
        return b0 + fraction * (b1 - b0)

    def _compute_seconds(self, flops):
        return flops / (self.peak * 1e9)

    def _step_seconds(self, flops, weight_bytes):
        """One sequential product: its flops at the peak or its weights at
        the bandwidth of their size, whichever takes longer."""
        return max(self._compute_seconds(flops),
                   weight_bytes / (self.bandwidth_at(weight_bytes) * 1e9))

    def forward_seconds(self, shape):
        """Forward: X·Wᵀ and H·Vᵀ at the peak, T − 1 products with U."""
        i, h, o = shape["I"], shape["H"], shape["O"]
        t, b = shape["T"], shape["B"]
        return (self._compute_seconds(2.0 * t * b * h * (i + o))
                + (t - 1) * self._step_seconds(2.0 * b * h * h, 4.0 * h * h))

    def backward_seconds(self, shape, with_dx):
        """Backward: G = E·V, dW, dU, dV (and dx) at the peak; T − 1 carries
        through Uᵀ (and dh0 = Uᵀ δ(0), one more, with dx)."""
        i, h, o = shape["I"], shape["H"], shape["O"]
        t, b = shape["T"], shape["B"]
        parallel = (4.0 * t * b * o * h + 2.0 * t * b * h * i
                    + 2.0 * (t - 1) * b * h * h)
        carries = t - 1
        if with_dx:
            parallel += 2.0 * t * b * h * i
            carries += 1
        return (self._compute_seconds(parallel)
                + carries * self._step_seconds(2.0 * b * h * h, 4.0 * h * h))

    def stream_step_seconds(self, shape):
        """One step reading all of W, U and V."""
        i, h, o = shape["I"], shape["H"], shape["O"]
        return self._step_seconds(2.0 * h * (i + h + o), 4.0 * h * (i + h + o))

    def bound_us(self, kind, shape, with_dx=True):
        """Lower bound in microseconds, or None if the model has no entry.
        `with_dx`: the training step also computes dx and dh0 (as
        elman_bench_passes' does; elman_bench_peers' do not)."""
        if not self.usable():
            return None
        if kind in ("Forward", "Inference"):
            seconds = self.forward_seconds(shape)
        elif kind == "TrainStep":
            seconds = (self.forward_seconds(shape)
                       + self.backward_seconds(shape, with_dx))
        elif kind == "StreamStep":
            seconds = shape["T"] * self.stream_step_seconds(shape)
        else:
            return None
        return seconds * 1e6


def parse_shape(kind, shape):
    """'I:1 H:32 O:1 T:25 B:1' -> dict; StreamStep's 'H:32' means I = O = H/4,
    T = B = 1 (as passes_bench.cc registers it)."""
    values = {}
    for part in shape.split():
        key, _, value = part.partition(":")
        try:
            values[key] = int(value)
        except ValueError:
            return None
    if kind == "StreamStep" and "H" in values:
        values = {"I": values["H"] // 4, "H": values["H"],
                  "O": values["H"] // 4, "T": 1, "B": 1}
    if not all(k in values for k in "IHOTB"):
        return None
    return values


def roof_cells(roofline, kind, shape, time_us):
    """[roof us, % roof] for a table row."""
    values = parse_shape(kind, shape)
    bound = roofline.bound_us(kind, values) if values else None
    if bound is None or not time_us:
        return ["-", "-"]
    return [fmt(bound, 3), fmt(100.0 * bound / time_us)]


def pass_table(kind, results, peak, roofline):
    """Forward or TrainStep: elman beside the reference, per shape."""
    shapes, by_key = [], {}
    for name, summary in results.items():
        k, impl, shape = split_name(name)
        if k != kind:
            continue
        if shape not in shapes:
            shapes.append(shape)
        by_key[(impl, shape)] = summary
    rows = []
    for shape in shapes:
        elman = by_key.get(("elman", shape), {})
        ref = by_key.get(("reference", shape), {})
        t_elman, t_ref = elman.get("time_us"), ref.get("time_us")
        speedup = t_ref / t_elman if t_elman and t_ref else None
        gflops = elman.get("GFLOP/s")
        rows.append([
            shape, fmt(t_elman), fmt(t_ref),
            fmt(speedup) + ("x" if speedup else ""),
            fmt(gflops, 2), fmt(ref.get("GFLOP/s"), 2),
            fmt(percent_of(gflops, peak)),
            *roof_cells(roofline, kind, shape, t_elman),
            fmt(elman.get("ns_per_step")),
            fmt(percent_of(elman.get("cv"), 1.0)),
        ])
    header = ["shape", "elman us", "ref us", "speed-up", "elman GFLOP/s",
              "ref GFLOP/s", "% peak", "roof us", "% roof", "elman ns/step",
              "elman cv%"]
    print_table(f"{kind} (median; speed-up = reference / elman), "
                f"{roofline.machine}", header, rows)


def single_table(kind, results, peak, roofline):
    """Inference or StreamStep: elman only."""
    rows = []
    for name, summary in results.items():
        k, _, shape = split_name(name)
        if k != kind:
            continue
        gflops = summary.get("GFLOP/s")
        rows.append([shape, fmt(summary["time_us"], 3), fmt(gflops, 2),
                     fmt(percent_of(gflops, peak)),
                     *roof_cells(roofline, kind, shape, summary["time_us"]),
                     fmt(summary.get("ns_per_step")),
                     fmt(percent_of(summary.get("cv"), 1.0))])
    header = ["shape", "elman us", "GFLOP/s", "% peak", "roof us", "% roof",
              "ns/step", "cv%"]
    print_table(f"{kind} (elman, median), {roofline.machine}", header, rows)


def format_bytes(size):
    """4096 -> '4 KiB', 1572864 -> '1.5 MiB'."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size} B"


def roofline_table(results, roofline):
    """The FMA peak, then the load bandwidth per working-set size: each way
    of reading's median and the figure the bound uses (see Roofline)."""
    peak = results.get("BM_FmaPeak")
    if peak:
        rows = [["FMA peak, median",
                 fmt(peak.get("GFLOP/s")) + " GFLOP/s", peak["label"]],
                ["FMA peak, best (the bound's)",
                 fmt(roofline.peak) + " GFLOP/s", peak["label"]]]
        with_loads = results.get("BM_FmaLoadPeak")
        if with_loads:
            rows.append(["FMAs with a vector load each, best",
                         fmt(roofline.load_fma_peak) + " GFLOP/s",
                         with_loads["label"]])
        print_table(f"FMA peak (single core), {roofline.machine}",
                    ["limit", "value", "target"], rows)
    variants = {("1", "0"): "1 stream", ("4", "0"): "4 streams",
                ("1", "1"): "zig-zag", ("1", "2"): "blocks zig-zag",
                ("1", "3"): "step order"}
    measured = {}  # (bytes, column) -> GB/s
    for name, summary in results.items():
        parts = name.split("/")
        if parts[0] != "BM_LoadBandwidth" or "GB/s" not in summary:
            continue
        args = dict(part.partition(":")[::2] for part in parts[1:])
        column = variants.get((args.get("streams"), args.get("zigzag", "0")))
        if column and args.get("bytes", "").isdigit():
            # The blocks zig-zag's column: the best of its block sizes.
            key = (int(args["bytes"]), column)
            measured[key] = max(measured.get(key, 0.0), summary["GB/s"])
    used = dict(roofline.ladder)
    rows = [[format_bytes(size)]
            + [fmt(measured.get((size, column)))
               for column in variants.values()]
            + [fmt(used[size])]
            for size, _ in roofline.measured]
    print_table(f"Load bandwidth, GB/s, by working-set size (single core; "
                f"medians; the bound uses the best repetition of the best "
                f"read, raised to the envelope), {roofline.machine}",
                ["bytes", *variants.values(), "bound uses"], rows)


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("files", nargs="+", metavar="RESULT.json")
    parser.add_argument("--time", choices=("cpu", "real"), default="cpu",
                        help="which time to report (default: cpu)")
    args = parser.parse_args(argv)

    try:
        contexts, entries = load(args.files)
    except (OSError, ValueError) as error:
        print(f"summarize.py: {error}", file=sys.stderr)
        return 2
    results = medians(entries, f"{args.time}_time")
    if not results:
        print("summarize.py: no benchmark results in " + ", ".join(args.files),
              file=sys.stderr)
        return 1

    for context in contexts:
        facts = [f"{context.get('host_name', '?')}",
                 f"{context.get('num_cpus', '?')} cpus",
                 f"{context.get('mhz_per_cpu', '?')} MHz",
                 f"load {context.get('load_avg', '?')}"]
        for key in ("elman_target", "hwy_target"):
            if key in context:
                facts.append(f"{key} {context[key]}")
        print(f"{context.get('executable', '?')}: " + ", ".join(facts))
    repetitions = max(s["repetitions"] for s in results.values())
    print(f"{args.time} time, median of {repetitions} repetition(s)\n")

    roofline = Roofline(results, contexts)
    print(f"Machine: {roofline.machine}\n")
    peak = roofline.peak
    pass_table("Forward", results, peak, roofline)
    pass_table("TrainStep", results, peak, roofline)
    single_table("Inference", results, peak, roofline)
    single_table("StreamStep", results, peak, roofline)
    roofline_table(results, roofline)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
