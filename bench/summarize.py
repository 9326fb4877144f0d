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
roofline (FMA peak, load bandwidth) when a file holds it, and elman's GFLOP/s
as a percentage of that peak.

The "roof us" column is a lower bound on the time from that roofline (see
Roofline below); "% roof" is that bound over the measured median time.

Times are CPU times by default (less disturbed by other processes on a shared
machine; the counters' rates are computed from CPU time too); --time real
uses wall-clock time.
"""

import argparse
import json
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
    """Maps run_name -> {"time_us", counters..., "label", "repetitions"}."""
    runs, aggregates, cvs, order = {}, {}, {}, []
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
        result[name] = summary
    return result


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


class Roofline:
    """A lower bound on a pass's time from the FMA peak and load bandwidths.

    The model (DESIGN.md §3): the products over all T·B rows (input and
    output projections, the weight gradients) run at best at the FMA peak;
    each sequential step (the recurrence through U, eq. 7.10; the carry,
    eq. 7.15; a streaming step) costs at least the larger of its flops at the
    peak and the load of the weights it reads once per step at the bandwidth
    of the cache level they fit in. A working set "fits" a level when it is at
    most half its size (the rest of the pass needs room too). Activations,
    elementwise work and the x, h, y traffic are left out: the bound is
    optimistic, so "% roof" may stay below 100 even for ideal code.
    """

    _LEVELS = (("L1", 1), ("L2", 2), ("L3", 3))

    def __init__(self, results, contexts):
        self.peak = results.get("BM_FmaPeak", {}).get("GFLOP/s")
        self.bandwidth = {}  # "L1"… "memory" -> GB/s
        for name, summary in results.items():
            if name.startswith("BM_LoadBandwidth/") and "GB/s" in summary:
                self.bandwidth[name.split("/")[1]] = summary["GB/s"]
        self.cache_bytes = {}  # level -> bytes of the data/unified cache
        for context in contexts:
            for cache in context.get("caches", []):
                if cache.get("type") in ("Data", "Unified"):
                    self.cache_bytes[cache["level"]] = cache["size"]

    def usable(self):
        return bool(self.peak and self.bandwidth.get("memory")
                    and self.cache_bytes)

    def _bandwidth_for(self, working_set_bytes):
        for name, level in self._LEVELS:
            size = self.cache_bytes.get(level)
            if size and working_set_bytes <= size / 2 and name in self.bandwidth:
                return self.bandwidth[name]
        return self.bandwidth["memory"]

    def _seconds(self, parallel_flops, steps, step_flops, step_bytes):
        step = max(step_flops / (self.peak * 1e9),
                   step_bytes / (self._bandwidth_for(step_bytes) * 1e9))
        return parallel_flops / (self.peak * 1e9) + steps * step

    def bound_us(self, kind, shape):
        """Lower bound in microseconds, or None if the model has no entry."""
        if not self.usable():
            return None
        i, h, o = shape["I"], shape["H"], shape["O"]
        t, b = shape["T"], shape["B"]
        forward = forward_flops(shape)
        recurrence = 2.0 * b * h * h  # flops of one step through U
        u_bytes = 4.0 * h * h
        if kind == "Forward":
            seconds = self._seconds(forward - t * recurrence, t, recurrence,
                                    u_bytes)
        elif kind == "TrainStep":
            backward = backward_flops(shape)
            seconds = (self._seconds(forward - t * recurrence, t, recurrence,
                                     u_bytes)
                       + self._seconds(backward - (t - 1) * recurrence, t - 1,
                                       recurrence, u_bytes))
        elif kind in ("Inference", "StreamStep"):
            # Every step reads all of [W; U] and V.
            seconds = self._seconds(0.0, t, forward / t,
                                    4.0 * h * (i + h + o))
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
    print_table(f"{kind} (median; speed-up = reference / elman)", header,
                rows)


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
    print_table(f"{kind} (elman, median)", header, rows)


def roofline_table(results):
    rows = []
    for name, summary in results.items():
        if name.startswith("BM_FmaPeak"):
            rows.append([name, fmt(summary.get("GFLOP/s")) + " GFLOP/s",
                         summary["label"]])
        elif name.startswith("BM_LoadBandwidth"):
            rows.append([name, fmt(summary.get("GB/s")) + " GB/s",
                         summary["label"]])
    print_table("Roofline (single core, median)", ["limit", "value", "target"],
                rows)


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
    peak = roofline.peak
    pass_table("Forward", results, peak, roofline)
    pass_table("TrainStep", results, peak, roofline)
    single_table("Inference", results, peak, roofline)
    single_table("StreamStep", results, peak, roofline)
    roofline_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
