#!/usr/bin/env python3
"""Turns elman_bench_peers' JSON into Markdown tables and a bar chart.

Usage:
  plot.py --peers PEERS.json --roofline ROOFLINE.json [ROOFLINE2.json ...]
          [--gemm GEMM.json] [--plot OUT.svg|OUT.png] [--time cpu|real]

Prints to stdout, as Markdown for the README: one table for the training step
(TrainStep/<impl>/I:../H:../O:../T:../B:..), one for inference
(Forward/<impl>/...) and one for the streaming step (StreamStep/<impl>/H:..:
one step of one sequence, I = O = H/4, B = 1), a row per shape and
implementation, with the median time, GFLOP/s, the lower bound on the time
and the percentage of it reached, and speed-ups; then, with --gemm, the GEMM
kernel's GFLOP/s as a percentage of the FMA peak. With --plot, gnuplot draws
the training-step times and the percentage of the bound per shape and
implementation (SVG, or PNG through pngcairo when OUT ends in .png).

Reproduce the inputs (from the repository root, Release build; the peers
need libeigen3-dev, libdnnl-dev, libtorch-dev, each optional):

  cmake --preset release -DELMAN_BUILD_PEERS=ON
  cmake --build --preset release --target elman_bench_peers \\
      elman_bench_roofline elman_bench_gemm
  OMP_NUM_THREADS=1 build/release/bench/peers/elman_bench_peers \\
      --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \\
      --benchmark_out=peers.json --benchmark_out_format=json
  build/release/bench/elman_bench_roofline --benchmark_min_time=0.1 \\
      --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \\
      --benchmark_out=roofline.json --benchmark_out_format=json
  build/release/bench/elman_bench_gemm \\
      --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \\
      --benchmark_out=gemm.json --benchmark_out_format=json
  python3 bench/plot.py --peers peers.json --roofline roofline.json \\
      --gemm gemm.json --plot bench-plot.svg

Times are the median over the repetitions, read as bench/summarize.py reads
them (the "median" aggregate, else the median of the runs); CPU time by
default. GFLOP/s is the benchmark's own "GFLOP/s" counter; only when that is
missing is it computed from bench_util.h's flop counts (summarize.py's
forward_flops / train_step_flops) and the median time.

The bound is summarize.py's Roofline, from the FMA peak and the load
bandwidth elman_bench_roofline measured as a function of the working-set
size: each sequential product with U (or Uᵀ) — the forward recurrence and
eq. 7.15's carry, a matrix-vector product at B = 1 and a B-row product per
step above — costs the larger of its flops at the FMA peak and U's 4·H²
bytes at the bandwidth measured for a 4·H²-byte working set (interpolated in
log-size between the ladder's sizes); every other flop is charged at the FMA
peak. The peers' training step computes neither dx nor dh0, so neither is
charged here. The inference table uses the same (forward) bound for every
implementation, whether it hoists the W and V products out of the time loop
or not. Given several roofline files (.ci/main runs the probes before the
benchmarks and again after the peers), each probe counts with its best
repetition over all of them (summarize.merge_best), and so do the probes
elman_bench_peers itself runs at its shapes' working sets, interleaved with
the code they bound (bench/roofline_probes.h): the peers run for minutes,
and the VM's bandwidth beyond L1 drifts by tens of percent meanwhile.

The streaming step's bound is the same rule applied to a single step, which
reads all three weight matrices W, U and V: the larger of its 2·H·(I+H+O)
flops at the FMA peak and its 4·H·(I+H+O) weight bytes at the bandwidth
measured for a working set of that size. Its times are in nanoseconds.

Every table's title names the CPU that measured (model name, family/model
and, when known, the microarchitecture: elman_bench_roofline records them
from /proc/cpuinfo) and the date of the run, so that tables from two
machines can stand side by side. The last table is where elman stands
against the targets of its performance work, ratios from the same run.
"""

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile

# summarize.py sits beside this file (Python puts the script's directory on
# sys.path). Importing it must not leave a __pycache__ in the source tree.
sys.dont_write_bytecode = True
import summarize  # noqa: E402  pylint: disable=wrong-import-position

# Implementations in table and legend order, with the name shown for each;
# any other implementation in the file follows under its own name.
DISPLAY_NAMES = {
    "elman": "elman",
    "elman_forward": "elman (training Forward)",
    "eigen_per_step": "Eigen per-step",
    "eigen_hoisted": "Eigen hoisted",
    "eigen_fixed": "Eigen fixed-size",
    "eigen": "Eigen",  # StreamStep's Eigen peer
    "onednn": "oneDNN",
    "torch": "libtorch",
    "reference": "reference",
}

# Bar colours of the plot, in DISPLAY_NAMES' order, then for any other.
BAR_COLORS = ("#1b9e77", "#66c2a5", "#d95f02", "#7570b3", "#e7298a",
              "#e6ab02", "#666666", "#a6761d", "#1f78b4")

# The two tables: benchmark kind in peers_bench.cc's names -> title.
# "Forward" and "Inference" both name the inference benchmarks.
INFERENCE_TITLE = ("Inference (each implementation's cheapest forward-only "
                   "path)")
PASS_TITLES = {
    "TrainStep": "Training step (forward + loss + backward)",
    "Forward": INFERENCE_TITLE,
    "Inference": INFERENCE_TITLE,
}
INFERENCE_KINDS = ("Forward", "Inference")

# The streaming-step table: its benchmark kind and title.
STREAM_KIND = "StreamStep"
STREAM_TITLE = ("Streaming step (one step of one sequence: tanh recurrence "
                "and dense layer; I = O = H/4, B = 1)")

MISSING = "—"

# --time's choices as the report names them.
TIME_NAMES = {"cpu": "CPU", "real": "Wall-clock"}


@dataclasses.dataclass
class PassResult:
    """One implementation at one shape, in one table."""
    shape: str                  # "1,32,1,25,1" (I,H,O,T,B); "32" (H)
    implementation: str         # as in the benchmark name, e.g. "onednn"
    time_us: float | None       # median time; None if not benchmarked
    gflops: float | None
    bound_us: float | None      # the roofline bound for this shape
    speedup: float | None       # see speedup_of()
    best_peer: str | None = None  # on elman's rows: whom `speedup` is against
    dims: dict | None = None    # {"I": .., "H": .., "O": .., "T": .., "B": ..}

    @property
    def percent_of_bound(self):
        """bound / time in percent, or None."""
        if self.bound_us is None or not self.time_us:
            return None
        return 100.0 * self.bound_us / self.time_us


# ---------------------------------------------------------------- input


def load_medians(path, time_key):
    """Returns (context, {run_name: median summary}) of one JSON file;
    raises OSError, or ValueError naming the file if it is not benchmark
    JSON."""
    try:
        contexts, entries = summarize.load([path])
        return contexts[0], summarize.medians(entries, time_key)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not Google Benchmark JSON ({error})") \
            from error


def is_elman(implementation):
    """elman itself and its variants (elman_forward)."""
    return implementation == "elman" or implementation.startswith("elman_")


def is_peer(implementation):
    """An implementation elman is compared against: not elman, not the
    double-precision reference."""
    return not is_elman(implementation) and implementation != "reference"


def implementation_order(implementations):
    """DISPLAY_NAMES' order first, then the others as they came."""
    known = [name for name in DISPLAY_NAMES if name in implementations]
    return known + [name for name in implementations if name not in known]


def group_by_shape(results, kind):
    """Collects the benchmarks of one kind (TrainStep, Forward, StreamStep).

    Returns (shapes, implementations, summaries): shapes as peers_bench.cc's
    'I:1 H:32 O:1 T:25 B:1' (StreamStep: 'H:32') strings in the order they
    first appear, implementations in implementation_order(), and summaries
    keyed by (shape, implementation).
    """
    shapes, implementations, summaries = [], [], {}
    for name, summary in results.items():
        name_kind, implementation, shape = summarize.split_name(name)
        if name_kind != kind:
            continue
        if shape not in shapes:
            shapes.append(shape)
        if implementation not in implementations:
            implementations.append(implementation)
        summaries[(shape, implementation)] = summary
    return shapes, implementation_order(implementations), summaries


# ----------------------------------------------------------- arithmetic


def flops_per_iteration(kind, dims):
    """bench_util.h's count for one iteration of a `kind` benchmark."""
    if kind == "TrainStep":
        return summarize.train_step_flops(dims)
    return summarize.forward_flops(dims)


def gflops_of(summary, kind, dims):
    """The "GFLOP/s" counter, else bench_util.h's flops over the time."""
    if "GFLOP/s" in summary:
        return summary["GFLOP/s"]
    if not summary.get("time_us") or dims is None:
        return None
    return flops_per_iteration(kind, dims) * 1e-3 / summary["time_us"]


def fastest_peer(times_by_implementation):
    """(implementation, time) of the fastest peer, or (None, None)."""
    peers = [(time, name) for name, time in times_by_implementation.items()
             if is_peer(name) and time]
    if not peers:
        return None, None
    time, name = min(peers)
    return name, time


def speedup_of(implementation, times_by_implementation):
    """An elman row: best peer's time / elman's time, and the best peer.
    Any other row: elman's time / its time (its speed-up vs elman, below 1
    when it is slower), and None."""
    time = times_by_implementation.get(implementation)
    if not time:
        return None, None
    if is_elman(implementation):
        peer, peer_time = fastest_peer(times_by_implementation)
        return (peer_time / time if peer_time else None), peer
    elman_time = times_by_implementation.get("elman")
    return (elman_time / time if elman_time else None), None


def pass_results(kind, results, roofline, shape_label=None):
    """Every (shape, implementation) of one kind as PassResults, shape by
    shape; an implementation absent at a shape gets a row of Nones.
    shape_label(dims, fallback) names the shape (default: comma_shape)."""
    shape_label = shape_label or comma_shape
    shapes, implementations, summaries = group_by_shape(results, kind)
    rows = []
    for shape in shapes:
        dims = summarize.parse_shape(kind, shape)
        # Every kind is judged by the bound of its products: "Forward" and
        # "Inference" are summarize.py's (hoisted) forward; "StreamStep"
        # (dims with T = B = 1) reads W, U and V every step. The peers'
        # training step computes neither dx nor dh0.
        bound_us = (roofline.bound_us(kind, dims, with_dx=False)
                    if dims else None)
        times = {impl: summaries[(shape, impl)]["time_us"]
                 for impl in implementations if (shape, impl) in summaries}
        for implementation in implementations:
            summary = summaries.get((shape, implementation))
            speedup, best_peer = speedup_of(implementation, times)
            rows.append(PassResult(
                shape=shape_label(dims, shape),
                implementation=implementation,
                time_us=summary["time_us"] if summary else None,
                gflops=gflops_of(summary, kind, dims) if summary else None,
                bound_us=bound_us,
                speedup=speedup,
                best_peer=best_peer,
                dims=dims))
    return rows


def comma_shape(dims, fallback):
    """{'I': 1, 'H': 32, ...} -> '1,32,1,25,1' (the README's notation)."""
    if dims is None:
        return fallback
    return ",".join(str(dims[key]) for key in "IHOTB")


def hidden_size(dims, fallback):
    """{'H': 32, ...} -> '32': the streaming table's shape column."""
    if dims is None:
        return fallback
    return str(dims["H"])


def stream_results(results, roofline):
    """The StreamStep benchmarks as PassResults, H by H (see
    pass_results)."""
    return pass_results(STREAM_KIND, results, roofline,
                        shape_label=hidden_size)


# ------------------------------------------------------------- markdown


def format_time(time):
    """Two decimals below 1, one below 100, none above (in whatever unit
    `time` is: µs, or ns in the streaming table); MISSING for None."""
    if time is None:
        return MISSING
    if time < 1:
        return f"{time:.2f}"
    if time < 100:
        return f"{time:.1f}"
    return f"{time:.0f}"


def nanoseconds(microseconds):
    """µs -> ns; None stays None."""
    return None if microseconds is None else microseconds * 1e3


def format_rate(value):
    """GFLOP/s or a percentage: one decimal below 10, none above."""
    if value is None:
        return MISSING
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def format_speedup(result):
    """'1.19× vs Eigen hoisted' on elman's rows, '0.84×' on the others."""
    if result.speedup is None:
        return MISSING
    cell = f"{result.speedup:.2f}×"
    if result.best_peer:
        cell += f" vs {display_name(result.best_peer)}"
    return cell


def display_name(implementation):
    """'eigen_hoisted' -> 'Eigen hoisted'; unknown names as they are."""
    return DISPLAY_NAMES.get(implementation, implementation)


def markdown_table(header, rows, left_columns=1):
    """A Markdown table; columns after the first `left_columns` align right."""
    align = ["---"] * left_columns + ["--:"] * (len(header) - left_columns)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def pass_table(results):
    """The Markdown table of one kind's PassResults."""
    header = ["I,H,O,T,B", "implementation", "µs", "GFLOP/s", "bound µs",
              "% of bound", "speed-up"]
    rows = [[r.shape, display_name(r.implementation), format_time(r.time_us),
             format_rate(r.gflops), format_time(r.bound_us),
             format_rate(r.percent_of_bound), format_speedup(r)]
            for r in results]
    return markdown_table(header, rows, left_columns=2)


def stream_table(results):
    """The Markdown table of the streaming step's PassResults, times in
    ns."""
    header = ["H", "implementation", "ns", "GFLOP/s", "bound ns",
              "% of bound", "speed-up"]
    rows = [[r.shape, display_name(r.implementation),
             format_time(nanoseconds(r.time_us)), format_rate(r.gflops),
             format_time(nanoseconds(r.bound_us)),
             format_rate(r.percent_of_bound), format_speedup(r)]
            for r in results]
    return markdown_table(header, rows, left_columns=2)


def gemm_rows(results, fma_peak):
    """BM_Gemm/M:../N:../K:../At:../Pack:.. (and BM_GemmPackedA/..., A packed
    as well) as dicts: sizes (M, N, K ints), a_transposed, packed, a_packed,
    time_us, gflops, percent (of the FMA peak)."""
    rows = []
    for name, summary in results.items():
        family, _, args = name.partition("/")
        if family not in ("BM_Gemm", "BM_GemmPackedA"):
            continue
        sizes = dict(part.partition(":")[::2] for part in args.split("/"))
        try:
            mnk = {key: int(sizes[key]) for key in "MNK"}
        except (KeyError, ValueError):
            continue
        gflops = summary.get("GFLOP/s")
        rows.append({"sizes": mnk, "a_transposed": sizes.get("At") == "1",
                     "packed": sizes.get("Pack") == "1",
                     "a_packed": family == "BM_GemmPackedA",
                     "time_us": summary["time_us"], "gflops": gflops,
                     "percent": summarize.percent_of(gflops, fma_peak)})
    return rows


def gemm_table(rows):
    """gemm_rows() as Markdown, or None if there are none."""
    if not rows:
        return None
    cells = [["×".join(str(row["sizes"][key]) for key in "MNK"),
              ("Aᵀ" if row["a_transposed"] else "A")
              + (", packed" if row["a_packed"] else ""),
              "packed" if row["packed"] else "in place",
              format_time(row["time_us"]), format_rate(row["gflops"]),
              format_rate(row["percent"])] for row in rows]
    header = ["M×N×K", "A read as", "B", "µs", "GFLOP/s", "% of FMA peak"]
    return markdown_table(header, cells, left_columns=3)


def working_sets(by_kind, stream_rows):
    """The working-set sizes the bounds of these tables read bandwidths at:
    U's 4·H² bytes for the passes, W+U+V's 4·H·(I+H+O) for the streaming
    step; ascending."""
    sizes = {4 * r.dims["H"] ** 2 for rows in by_kind.values() for r in rows
             if r.dims}
    sizes |= {4 * r.dims["H"] * (r.dims["I"] + r.dims["H"] + r.dims["O"])
              for r in stream_rows if r.dims}
    return sorted(sizes)


def limits_line(roofline, sizes):
    """'Limits measured by …: FMA peak 270 GFLOP/s; load bandwidth 430 GB/s
    at 4 KiB, …' at the working-set sizes the bounds use."""
    if not roofline.usable():
        return ("No FMA peak or load-bandwidth ladder in the roofline file: "
                "no bound.")
    at_sizes = ", ".join(
        f"{roofline.bandwidth_at(size):.0f} at {summarize.format_bytes(size)}"
        for size in sizes)
    with_loads = (f" ({roofline.load_fma_peak:.0f} with a vector load per "
                  f"FMA)" if roofline.load_fma_peak else "")
    return (f"Limits measured by `elman_bench_roofline` on "
            f"{roofline.machine}: FMA peak {roofline.peak:.0f} GFLOP/s"
            f"{with_loads}; load bandwidth (GB/s) at the working sets the "
            f"bounds use: {at_sizes}.")


def run_line(context, results, time_kind):
    """Where and how the peers were measured, for the reader's notes."""
    repetitions = max(s["repetitions"] for s in results.values())
    facts = [f"host {context.get('host_name', '?')}",
             f"{context.get('date', '?')[:10]}",
             f"elman target {context.get('elman_target', '?')}",
             f"threads {context.get('threads', '?')}"]
    if "elman_gemm_pack_a" in context:
        facts.append(f"elman packs Δ in the weight gradients: "
                     f"{context['elman_gemm_pack_a']}")
    if "torch_blas" in context:
        facts.append(f"libtorch BLAS {context['torch_blas']}")
    return (f"{time_kind} time, median of {repetitions} repetition(s); "
            + ", ".join(facts) + ".")


def implementation_notes(results, kinds):
    """One bullet per implementation benchmarked as one of `kinds`: its
    benchmark label (the first one met)."""
    labels = {}
    for name, summary in results.items():
        kind, implementation, _ = summarize.split_name(name)
        if kind in kinds and summary.get("label"):
            labels.setdefault(implementation, summary["label"])
    return [f"- {display_name(impl)}: {labels[impl]}"
            for impl in implementation_order(list(labels))]


# ------------------------------------------------------------- targets


@dataclasses.dataclass
class Target:
    """One line of the targets table: elman's rows of one table whose dims
    satisfy `select`, each to reach `min_speedup` × the fastest peer and,
    when set, `min_percent` % of its bound."""
    label: str
    kind: str                       # "TrainStep", "Inference", "StreamStep"
    select: object                  # dims -> bool
    min_speedup: float
    min_percent: float | None = None


TARGETS = (
    Target("streaming step, H ≤ 64: ≥ 2× the fastest peer", "StreamStep",
           lambda d: d["H"] <= 64, 2.0),
    Target("streaming step, H ≥ 128: ≥ 1.2× the fastest peer, ≥ 85 % of "
           "the bound", "StreamStep", lambda d: d["H"] >= 128, 1.2, 85.0),
    Target("inference, B = 1, H ≤ 64: ≥ 1.5× the fastest peer", "Inference",
           lambda d: d["B"] == 1 and d["H"] <= 64, 1.5),
    Target("inference, B = 1, H > 64: ≥ 1.1× the fastest peer", "Inference",
           lambda d: d["B"] == 1 and d["H"] > 64, 1.1),
    Target("training step, B = 1, H ≤ 64: ≥ 2× the fastest peer",
           "TrainStep", lambda d: d["B"] == 1 and d["H"] <= 64, 2.0),
    Target("training step, every other shape (B = 1, H ≥ 128; B = 32, 64): "
           "≥ 1.15× the fastest peer, ≥ 85 % of the bound", "TrainStep",
           lambda d: d["B"] > 1 or d["H"] > 64, 1.15, 85.0),
)

# The GEMM target: the passes' products (packed, M ≥ 256) at this share of
# the measured FMA peak.
GEMM_TARGET_LABEL = ("GEMM, the passes' shapes (packed, M ≥ 256): ≥ 80 % of "
                     "the measured FMA peak")
GEMM_MIN_M = 256
GEMM_MIN_PERCENT = 80.0


def short_shape(dims):
    """'H = 128' at B = 1, 'H = 128, B = 32' above."""
    if dims["B"] == 1:
        return f"H = {dims['H']}"
    return f"H = {dims['H']}, B = {dims['B']}"


def status(passed, total):
    """'met', 'missed' or 'k of n met' for `passed` of `total` checks."""
    if total == 0:
        return "not measured"
    if passed == total:
        return "met"
    if passed == 0:
        return "missed"
    return f"{passed} of {total} met"


def target_line(target, rows):
    """[target, measured, status] for one Target over a table's rows."""
    chosen = [r for r in rows if r.implementation == "elman" and r.dims
              and target.select(r.dims) and r.time_us]
    speedups, percents, passed, total = [], [], 0, 0
    for r in chosen:
        if r.speedup is not None:
            peer = display_name(r.best_peer)
            speedups.append(f"{r.speedup:.2f}× vs {peer} "
                            f"({short_shape(r.dims)})")
            passed += r.speedup >= target.min_speedup
            total += 1
        if target.min_percent is not None and r.percent_of_bound is not None:
            percents.append(f"{format_rate(r.percent_of_bound)} % "
                            f"({short_shape(r.dims)})")
            passed += r.percent_of_bound >= target.min_percent
            total += 1
    measured = ", ".join(speedups) or MISSING
    if percents:
        measured += "; of the bound " + ", ".join(percents)
    return [target.label, measured, status(passed, total)]


def gemm_target_line(gemm_results, packs_a):
    """[target, measured, status] for the GEMM target: each shape as the
    passes run it, A packed (BM_GemmPackedA) where this run's Workspace
    chose to pack Δ (`packs_a`), and only there."""
    def key(row):
        return (tuple(row["sizes"][k] for k in "MNK"), row["a_transposed"])
    packed_a = {key(row) for row in gemm_results if row["a_packed"]}
    chosen = [row for row in gemm_results if row["packed"]
              and row["sizes"]["M"] >= GEMM_MIN_M
              and row["percent"] is not None
              and (row["a_packed"] if packs_a and key(row) in packed_a
                   else not row["a_packed"])]
    cells = [f"{format_rate(row['percent'])} % "
             f"({'×'.join(str(row['sizes'][k]) for k in 'MNK')}"
             f"{', Aᵀ' if row['a_transposed'] else ''}"
             f"{' packed' if row['a_packed'] else ''})" for row in chosen]
    passed = sum(row["percent"] >= GEMM_MIN_PERCENT for row in chosen)
    return [GEMM_TARGET_LABEL, ", ".join(cells) or MISSING,
            status(passed, len(chosen))]


def targets_table(by_kind, stream_rows, gemm_results, packs_a=False):
    """'Where elman stands against the targets' as Markdown. The inference
    targets read elman's own (streaming) row of the inference table; the
    GEMM's, A packed where the run's Workspace packs Δ (`packs_a`)."""
    tables = dict(by_kind)
    tables["StreamStep"] = stream_rows
    for kind in INFERENCE_KINDS:
        if kind in by_kind:
            tables["Inference"] = by_kind[kind]
    lines = [target_line(t, tables.get(t.kind, [])) for t in TARGETS]
    lines.append(gemm_target_line(gemm_results, packs_a))
    return markdown_table(["target", "measured", ""], lines,
                          left_columns=3)


# The notes under the tables: the training and inference tables' columns,
# then (SHARED_NOTES) the columns every table has.
PASS_NOTES = """\
Columns: µs = median time; bound µs = the roofline bound: each sequential
product with U or Uᵀ (T − 1 recurrence steps, h0 being 0, and T − 1 carries;
a vector at B = 1, a B-row product above) at the slower of its flops at the
FMA peak and U's 4·H² bytes at the load bandwidth measured for a working set
of 4·H² bytes; every other flop (the hoisted products; the peers compute
neither dx nor dh0) at the FMA peak;"""

SHARED_NOTES = """\
% of bound = bound / time; speed-up = on elman's rows the fastest peer's
time / elman's time (reference excluded), on the other rows elman's time /
that row's time (below 1: slower than elman). — = not benchmarked."""

COLUMN_NOTES = PASS_NOTES + "\n" + SHARED_NOTES

# The streaming table's columns; followed by STREAM_NOTES_END after
# COLUMN_NOTES, by SHARED_NOTES when it is the only table.
STREAM_NOTES = """\
Streaming step: ns = median time of one step; bound ns = the larger of the
step's 2·H·(I+H+O) flops at the FMA peak and the 4·H·(I+H+O) bytes of W, U
and V (all three read every step) at the load bandwidth measured for a
working set of that size;"""

STREAM_NOTES_END = "% of bound and speed-up as above."

# The targets table's title.
TARGETS_TITLE = "Where elman stands against the targets (same run)"


def print_report(pass_results_by_kind, stream_rows, gemm_results, context,
                 results, roofline, time_kind):
    """Everything that goes to stdout. Every table's title names the
    machine and the date (roofline.machine)."""
    machine = roofline.machine
    print(run_line(context, results, time_kind))
    print(limits_line(roofline,
                      working_sets(pass_results_by_kind, stream_rows)))
    for kind, rows in pass_results_by_kind.items():
        print(f"\n{PASS_TITLES[kind]}, {machine}:\n")
        print(pass_table(rows))
    if stream_rows:
        print(f"\n{STREAM_TITLE}, {machine}:\n")
        print(stream_table(stream_rows))
    gemm_markdown = gemm_table(gemm_results)
    if gemm_markdown:
        print(f"\nGEMM kernel alone (`elman_bench_gemm`), single thread, "
              f"{machine}:\n")
        print(gemm_markdown)
    print(f"\n{TARGETS_TITLE}, {machine}:\n")
    packs_a = context.get("elman_gemm_pack_a", "").startswith("yes")
    print(targets_table(pass_results_by_kind, stream_rows, gemm_results,
                        packs_a))
    print()
    if pass_results_by_kind:
        print(COLUMN_NOTES)
        if stream_rows:
            print()
            print(STREAM_NOTES, STREAM_NOTES_END)
    else:
        print(STREAM_NOTES)
        print(SHARED_NOTES)
    for title, kinds in (("Implementations", tuple(PASS_TITLES)),
                         ("Streaming-step implementations", (STREAM_KIND,))):
        notes = implementation_notes(results, kinds)
        if notes:
            print(f"\n{title}:\n")
            print("\n".join(notes))


# ----------------------------------------------------------------- plot


def plot_data(results):
    """(implementations, lines): a gnuplot data file, tab-separated, a line
    per shape: label, each implementation's time, each one's % of bound;
    '?' where missing. So the line count is the number of shapes."""
    shapes = list(dict.fromkeys(r.shape for r in results))
    implementations = list(dict.fromkeys(r.implementation for r in results))
    by_key = {(r.shape, r.implementation): r for r in results}

    def cell(value):
        return "?" if value is None else f"{value:.6g}"

    lines = []
    for shape in shapes:
        row = [by_key[(shape, impl)] for impl in implementations]
        lines.append("\t".join(
            [shape] + [cell(r.time_us) for r in row]
            + [cell(r.percent_of_bound) for r in row]))
    return implementations, lines


def gnuplot_string(text):
    """A single-quoted gnuplot string literal."""
    return "'" + text.replace("'", "''") + "'"


def bar_clauses(data_path, implementations, first_column):
    """The plot command's clauses: a bar series per implementation."""
    clauses = []
    for index, implementation in enumerate(implementations):
        source = gnuplot_string(data_path) if index == 0 else "''"
        xtic = ":xtic(1)" if index == 0 else ""
        color = BAR_COLORS[index % len(BAR_COLORS)]
        clauses.append(
            f"{source} using {first_column + index}{xtic} "
            f"title {gnuplot_string(display_name(implementation))} "
            f"lc rgb '{color}'")
    return "plot " + ", \\\n     ".join(clauses)


def terminal_for(output_path):
    """pngcairo for .png, svg otherwise."""
    if output_path.lower().endswith(".png"):
        return "pngcairo size 1200,900 font 'sans,10'"
    return "svg size 1200,900 dynamic font 'sans,11' background rgb 'white'"


def gnuplot_script(data_path, output_path, implementations, shape_count,
                   with_bound, machine):
    """Two stacked clustered-bar panels: time (log scale), % of bound; the
    title names the machine."""
    count = len(implementations)
    panels = 2 if with_bound else 1
    script = [
        "set encoding utf8",
        f"set terminal {terminal_for(output_path)}",
        f"set output {gnuplot_string(output_path)}",
        "set datafile separator '\\t'",
        "set datafile missing '?'",
        f"set multiplot layout {panels},1 title "
        + gnuplot_string("elman vs peers, training step (median, single "
                         f"thread), {machine}"),
        "set style data histograms",
        "set style histogram clustered gap 1",
        "set style fill solid 0.9 border rgb '#333333'",
        # The same x range in both panels keeps their clusters aligned.
        f"set xrange [-0.5:{shape_count - 0.5}]",
        "set key inside top left vertical opaque",
        "set grid ytics",
        "set xtics nomirror rotate by 20 right",
        "set xlabel 'I,H,O,T,B'",
        "set logscale y",
        "set ylabel 'time, µs (log scale)'",
        bar_clauses(data_path, implementations, first_column=2),
    ]
    if with_bound:
        script += [
            "unset logscale y",
            "unset key",
            "set yrange [0:*]",
            "set ylabel '% of the roofline bound'",
            bar_clauses(data_path, implementations,
                        first_column=2 + count),
        ]
    script += ["unset multiplot", "unset output"]
    return "\n".join(script) + "\n"


def write_plot(results, output_path, machine):
    """Draws the training-step PassResults with gnuplot. Returns an error
    message, or None on success."""
    implementations, lines = plot_data(results)
    with_bound = any(r.percent_of_bound is not None for r in results)
    with tempfile.TemporaryDirectory(prefix="elman-plot-") as directory:
        data_path = os.path.join(directory, "train_step.dat")
        with open(data_path, "w", encoding="utf-8") as data:
            data.write("\n".join(lines) + "\n")
        script = gnuplot_script(data_path, output_path, implementations,
                                len(lines), with_bound, machine)
        try:
            run = subprocess.run(["gnuplot"], input=script, text=True,
                                 capture_output=True, check=False)
        except OSError as error:
            return f"cannot run gnuplot ({error}); install gnuplot-nox"
    if run.stderr:
        sys.stderr.write(run.stderr)
    if run.returncode != 0:
        return f"gnuplot failed with status {run.returncode}"
    return None


# ----------------------------------------------------------------- main


def parse_arguments(argv):
    """The command line; --help prints this module's docstring."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--peers", required=True, metavar="PEERS.json",
                        help="elman_bench_peers --benchmark_out")
    parser.add_argument("--roofline", required=True, nargs="+",
                        metavar="ROOFLINE.json",
                        help="elman_bench_roofline --benchmark_out; with "
                             "several runs each probe's best of all")
    parser.add_argument("--gemm", metavar="GEMM.json",
                        help="elman_bench_gemm --benchmark_out (optional)")
    parser.add_argument("--plot", metavar="OUT.svg",
                        help="write the training-step chart here "
                             "(.svg, or .png through pngcairo)")
    parser.add_argument("--time", choices=("cpu", "real"), default="cpu",
                        help="which time to report (default: cpu)")
    return parser.parse_args(argv)


def main(argv):
    """Prints the tables, draws the plot; returns the exit status."""
    args = parse_arguments(argv)
    time_key = f"{args.time}_time"
    try:
        peers_context, peers = load_medians(args.peers, time_key)
        roofline_runs = [load_medians(path, time_key)
                         for path in args.roofline]
        gemm = load_medians(args.gemm, time_key)[1] if args.gemm else {}
    except (OSError, ValueError) as error:
        print(f"plot.py: {error}", file=sys.stderr)
        return 2

    # The probes elman_bench_peers ran between its own repetitions
    # (bench/roofline_probes.h) count as one more run of them.
    interleaved = {name: summary for name, summary in peers.items()
                   if name.startswith("BM_")}
    roofline = summarize.Roofline(
        summarize.merge_best([results for _, results in roofline_runs]
                             + [interleaved]),
        [peers_context, roofline_runs[0][0]])
    if not roofline.usable():
        print("plot.py: the roofline file lacks the FMA peak or the "
              "load-bandwidth ladder (BM_LoadBandwidth/bytes:N/streams:S): "
              "no bound", file=sys.stderr)
    by_kind = {kind: pass_results(kind, peers, roofline)
               for kind in PASS_TITLES}
    by_kind = {kind: rows for kind, rows in by_kind.items() if rows}
    stream_rows = stream_results(peers, roofline)
    if not by_kind and not stream_rows:
        print("plot.py: no TrainStep/, Forward/ or StreamStep/ benchmarks in "
              f"{args.peers}", file=sys.stderr)
        return 1

    print_report(by_kind, stream_rows, gemm_rows(gemm, roofline.peak),
                 peers_context, peers, roofline, TIME_NAMES[args.time])

    if args.plot:
        if "TrainStep" not in by_kind:
            print("plot.py: no TrainStep benchmarks to plot", file=sys.stderr)
            return 1
        error = write_plot(by_kind["TrainStep"], args.plot, roofline.machine)
        if error:
            print(f"plot.py: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
