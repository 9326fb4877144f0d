#!/usr/bin/env python3
"""Markdown tables of elman on one thread and on N, beside oneDNN on one and N.

Usage:
  threads_report.py --peers PEERS_THREADS.json [--sync THREADS.json]
                    [--time real|cpu]

PEERS_THREADS.json is what `elman_bench_peers --threads=N` writes
(--benchmark_out=FILE --benchmark_out_format=json): TrainStep/, Forward/ and
StreamStep/ benchmarks of elman, elman_threadsN, onednn and onednn_threadsN,
in wall-clock time. THREADS.json is elman_bench_threads' output: the cost of
one barrier and of one fork and join, elman's pool beside OpenMP's.

Prints, each table titled with the CPU and the date of the run: the
synchronisation costs; the training step and inference, a row per shape
(elman on 1 and N threads and the speed-up, oneDNN on 1 and N threads, and
elman on N against oneDNN on N); the streaming step; and where elman stands
against the targets of issue 10, every ratio from the same run. Times are
medians over the repetitions, read as summarize.py reads them.

Reproduce (2 threads; the machine otherwise idle, not pinned):

  build/release/bench/peers/elman_bench_peers --threads=2 \\
      --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \\
      --benchmark_out=peers-threads.json --benchmark_out_format=json
  build/release/bench/elman_bench_threads --benchmark_repetitions=5 \\
      --benchmark_report_aggregates_only=true \\
      --benchmark_out=threads.json --benchmark_out_format=json
  python3 bench/threads_report.py --peers peers-threads.json \\
      --sync threads.json
"""

import argparse
import re
import sys

# summarize.py sits beside this file. Importing it must not leave a
# __pycache__ in the source tree.
sys.dont_write_bytecode = True
import plot  # noqa: E402  pylint: disable=wrong-import-position
import summarize  # noqa: E402  pylint: disable=wrong-import-position

MISSING = "—"

# Issue 10's targets: (label, kind, shapes as I,H,O,T,B or H, the least
# speed-up of N threads over one, the least speed-up over oneDNN on N).
TARGETS = (
    ("training step (256,512,256,50,64) and (64,128,64,100,32): N threads "
     "≥ 1.7× elman on 1 and ≥ 1.2× oneDNN on N", "TrainStep",
     ("256,512,256,50,64", "64,128,64,100,32"), 1.7, 1.2),
    ("training step (256,512,256,50,1): N threads ≥ 1.5× elman on 1",
     "TrainStep", ("256,512,256,50,1",), 1.5, None),
    ("streaming step, H = 512 and 1024: N threads ≥ 1.5× 1 thread",
     "StreamStep", ("512", "1024"), 1.5, None),
)
# H ≤ 64: nothing is split, so N threads run the one-thread code; judged
# against the noise of one run.
SMALL_HIDDEN = 64
NOISE = 0.97


def thread_count(results):
    """N of the elman_threadsN implementation in the file (or None)."""
    for name in results:
        match = re.match(r"[^/]+/elman_threads(\d+)/", name)
        if match:
            return int(match.group(1))
    return None


def label_of(kind, dims):
    """'256,512,256,50,64' (I,H,O,T,B), or 'H' for the streaming step."""
    if kind == "StreamStep":
        return str(dims["H"])
    return ",".join(str(dims[key]) for key in "IHOTB")


def rows_of(kind, results):
    """{shape label: {implementation: median µs, "dims": ...}} and the
    labels in order."""
    table, order = {}, []
    for name, summary in results.items():
        name_kind, implementation, shape = summarize.split_name(name)
        if name_kind != kind:
            continue
        # Wall-clock benchmarks' names end in /real_time.
        dims = summarize.parse_shape(kind, shape.replace("real_time", ""))
        if dims is None:
            continue
        label = label_of(kind, dims)
        if label not in table:
            table[label] = {"dims": dims}
            order.append(label)
        table[label][implementation] = summary["time_us"]
    return table, order


def ratio(numerator, denominator):
    """numerator / denominator, or None."""
    if not numerator or not denominator:
        return None
    return numerator / denominator


def cell(value, digits=1, suffix=""):
    """A number for a table cell, `digits` decimals below 100."""
    if value is None:
        return MISSING
    if abs(value) >= 100:
        return f"{value:.0f}{suffix}"
    return f"{value:.{digits}f}{suffix}"


def pass_table(kind, results, n):
    """Training step or inference: a row per shape."""
    table, order = rows_of(kind, results)
    threaded, onednn_threaded = f"elman_threads{n}", f"onednn_threads{n}"
    rows = []
    for label in order:
        times = table[label]
        rows.append([
            label, cell(times.get("elman")), cell(times.get(threaded)),
            cell(ratio(times.get("elman"), times.get(threaded)), 2, "×"),
            cell(times.get("onednn")), cell(times.get(onednn_threaded)),
            cell(ratio(times.get(onednn_threaded), times.get(threaded)), 2,
                 "×")])
    header = ["I,H,O,T,B", "elman, 1 thread µs", f"elman, {n} threads µs",
              f"speed-up {n}:1", "oneDNN, 1 thread µs",
              f"oneDNN, {n} threads µs", f"elman vs oneDNN, {n} threads"]
    return plot.markdown_table(header, rows)


def stream_table(results, n):
    table, order = rows_of("StreamStep", results)
    rows = []
    for label in order:
        times = table[label]
        one, many = times.get("elman"), times.get(f"elman_threads{n}")
        rows.append([label, cell(one and one * 1e3),
                     cell(many and many * 1e3),
                     cell(ratio(one, many), 2, "×")])
    header = ["H", "elman, 1 thread ns", f"elman, {n} threads ns",
              f"speed-up {n}:1"]
    return plot.markdown_table(header, rows)


def sync_table(results):
    """Barrier and fork-join, per runtime and thread count, in ns."""
    rows = []
    for name, summary in results.items():
        parts = name.split("/")
        if len(parts) < 3 or parts[0] not in ("BM_Barrier", "BM_ForkJoin"):
            continue
        threads = parts[2].split(":")[-1]
        if threads == "1":
            continue
        what = "barrier" if parts[0] == "BM_Barrier" else "fork and join"
        runtime = {"elman": "elman's pool",
                   "elman_asleep": "elman's pool, workers asleep (no spin)",
                   "openmp": "OpenMP (libgomp)"}.get(parts[1], parts[1])
        rows.append([f"{what}, {threads} threads", runtime,
                     cell(summary.get("ns_per_sync"))])
    return plot.markdown_table(["synchronisation", "runtime", "ns"], rows, 2)


def target_lines(results, n):
    """Issue 10's targets: [target, measured, status] rows."""
    lines = []
    for label, kind, shapes, least_speedup, least_vs_onednn in TARGETS:
        table, _ = rows_of(kind, results)
        measured, passed, total = [], 0, 0
        for shape in shapes:
            times = table.get(shape, {})
            speedup = ratio(times.get("elman"), times.get(f"elman_threads{n}"))
            if speedup is not None:
                measured.append(f"{speedup:.2f}× vs 1 thread ({shape})")
                passed += speedup >= least_speedup
                total += 1
            if least_vs_onednn is not None:
                vs = ratio(times.get(f"onednn_threads{n}"),
                           times.get(f"elman_threads{n}"))
                if vs is not None:
                    measured.append(f"{vs:.2f}× vs oneDNN ({shape})")
                    passed += vs >= least_vs_onednn
                    total += 1
        lines.append([label, ", ".join(measured) or MISSING,
                      plot.status(passed, total)])
    small = []
    for kind in ("TrainStep", "Forward", "StreamStep"):
        table, order = rows_of(kind, results)
        for shape in order:
            times = table[shape]
            if times["dims"]["H"] > SMALL_HIDDEN:
                continue
            speedup = ratio(times.get("elman"),
                            times.get(f"elman_threads{n}"))
            if speedup is not None:
                small.append((kind, shape, speedup))
    lines.append([
        f"H ≤ {SMALL_HIDDEN}: N threads never slower than 1 (nothing is "
        f"split there; ≥ {NOISE} allows the run's noise)",
        ", ".join(f"{s:.2f}× ({k} {shape})" for k, shape, s in small)
        or MISSING,
        plot.status(sum(s >= NOISE for _, _, s in small), len(small))])
    return plot.markdown_table(["target", "measured", ""], lines, 3)


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--peers", required=True, metavar="PEERS.json",
                        help="elman_bench_peers --threads=N --benchmark_out")
    parser.add_argument("--sync", metavar="THREADS.json",
                        help="elman_bench_threads --benchmark_out")
    parser.add_argument("--time", choices=("real", "cpu"), default="real",
                        help="which time to report (default: real)")
    args = parser.parse_args(argv)
    time_key = f"{args.time}_time"
    try:
        contexts, entries = summarize.load([args.peers])
        results = summarize.medians(entries, time_key)
        sync = {}
        if args.sync:
            sync_contexts, sync_entries = summarize.load([args.sync])
            contexts += sync_contexts
            sync = summarize.medians(sync_entries, "real_time")
    except (OSError, ValueError, KeyError) as error:
        print(f"threads_report.py: {error}", file=sys.stderr)
        return 2
    n = thread_count(results)
    if n is None:
        print(f"threads_report.py: no elman_threadsN benchmarks in "
              f"{args.peers} (run elman_bench_peers --threads=N)",
              file=sys.stderr)
        return 1
    machine = summarize.machine_tag(contexts)
    repetitions = max(s["repetitions"] for s in results.values())
    print(f"{'Wall-clock' if args.time == 'real' else 'CPU'} time, median of "
          f"{repetitions} repetition(s); {contexts[0].get('threads', '')}; "
          f"elman target {contexts[0].get('elman_target', '?')}.")
    if sync:
        print(f"\nOne synchronisation (median), {machine}:\n")
        print(sync_table(sync))
    for kind, title in (("TrainStep", "Training step (forward + loss + "
                                      "backward)"),
                        ("Forward", "Inference (elman::Stream::Run; oneDNN "
                                    "forward_inference)")):
        print(f"\n{title}, 1 and {n} threads, {machine}:\n")
        print(pass_table(kind, results, n))
    print(f"\nStreaming step (elman::Stream::Step, I = O = H/4, B = 1), 1 and "
          f"{n} threads, {machine}:\n")
    print(stream_table(results, n))
    print(f"\nWhere elman on {n} threads stands against the targets of issue "
          f"10 (same run), {machine}:\n")
    print(target_lines(results, n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
