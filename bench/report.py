#!/usr/bin/env python3
"""Reads the JSON lines the benchmark programs print and reports them.

Prints a table (workload, metric, competitor, figure, and cfutures' advantage
over that competitor measured in the same run), writes it with the date and
the machine to results.md, and draws cfutures' advantage per workload and
peer to results.png with gnuplot. The advantage is "how many times better
cfutures is": cfutures/peer for higher-is-better figures, peer/cfutures for
lower-is-better ones, so > 1 means cfutures wins.

Usage: report.py RESULTS.jsonl [--quick] [--load-before "1.0 2.0 3.0"]
                 [--failed PROGRAM ...] [--md PATH] [--png PATH]
Python standard library only.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

WORKLOADS = ["throughput", "round_trip", "as_completed", "wait_first", "map_buffered", "pending_memory",
             "process_pool", "primes", "remote_throw", "stop_call", "then_chain", "fan_in", "ping_pong"]
COMPETITORS = ["cfutures", "asio", "tbb", "std::async", "boost.thread", "qt", "python-thread", "python-process",
               "pebble"]

# What each workload measures, for results.md (bench/README.md has the details).
DESCRIPTIONS = {
    "throughput": "submit N calls returning an int to a 2-worker pool, then result() each (C++ N = 1,000,000; "
                  "Python 100,000; std::async 50,000 through a window of 1,000 threads)",
    "round_trip": "submit one call to an idle 2-worker pool and wait for its result: back to back (20,000 samples "
                  "after warm-up) and each after 1 ms idle (2,000 samples)",
    "as_completed": "submit 100,000 calls, then fan in with as_completed (peers without it: get() in order; "
                    "tbb: run + wait)",
    "wait_first": "one wait(FIRST_COMPLETED) call over 100,000 pending futures, the one that finishes (at once, "
                  "as the call starts) being last in the list; time per future in the call (asio: a sweep of "
                  "wait_for(0s), a lower bound)",
    "map_buffered": "map over 10,000,000 ints with buffersize 1000 (Python 300,000; std::async 100,000); "
                    "peak RSS of the process (VmHWM), which does nothing else",
    "pending_memory": "1,000,000 pending calls of a 16-byte lambda on a pool whose workers are held "
                      "(Python 200,000); heap (counted operator new / tracemalloc) and RSS growth per future",
    "process_pool": "2-worker process pool, forkserver, warm: round trip, unchunked throughput, map chunksize=1000 "
                    "over 10,000,000 ints (Python 1,000,000), echo of 1 KiB and 1 MiB strings; Python's peers: "
                    "concurrent.futures and pebble's ProcessPool",
    "then_chain": "a chain of 100,000 then links (each adds one) from a ready future, continuations run in "
                  "place (Boost.Thread: launch::sync; Qt: the default Launch::Sync); ns per link, median of 5",
    "fan_in": "fan-out/fan-in: 100,000 submits to a 2-worker pool, then when_all over the futures and wait "
              "(Boost.Thread: async on a basic_thread_pool + when_all; Qt: QtConcurrent::run on a QThreadPool + "
              "QtFuture::whenAll); ns per call, median of 5",
    "ping_pong": "20,000 sequential submit -> then -> result on a 2-worker pool; cfutures also with a coroutine "
                 "that co_awaits each submit (the peers have no coroutines: their then figure stands against "
                 "it); ns per call, median of 5",
    "primes": "the documentation's primes example (executor.map(is_prime, PRIMES)), whole with-block "
              "including pool start and shutdown, 2 workers, forkserver",
    "stop_call": "2-worker process pool, forkserver, warm, against pebble's ProcessPool: request_stop() "
                 "(pebble: future.cancel()) of a running call until a following call's result is back, with both "
                 "workers held (pool full) or one; overshoot of a 100 ms timeout given a 1 s call (time to "
                 "TimeoutError from submit, minus 100 ms); throughput of trivial calls given a 10 s timeout against "
                 "none, and their ratio",
    "remote_throw": "2-worker process pool, forkserver, warm: round trip of a call that throws, caught as its "
                    "type (with its nested remote traceback), beside the same call when it returns",
}


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                print("report.py: skipping a malformed line: " + line, file=sys.stderr)
    return rows


def order_key(seq, item):
    return seq.index(item) if item in seq else len(seq)


SI = [(1e9, "G"), (1e6, "M"), (1e3, "k")]
TIME_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def fmt_number(v):
    if v == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(v)))))
    return f"{v:.{digits}f}"


def fmt_figure(value, unit):
    """3 significant digits, with an SI prefix for rates and a fitting unit for times."""
    if unit in TIME_NS:
        ns = value * TIME_NS[unit]
        for scale, name in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
            if ns >= scale:
                return f"{fmt_number(ns / scale)} {name}"
        return f"{fmt_number(ns)} ns"
    if unit.endswith("/s"):
        for scale, prefix in SI:
            if value >= scale:
                return f"{fmt_number(value / scale)} {prefix}{unit}"
    return f"{fmt_number(value)} {unit}"


def advantage(cf, peer):
    """How many times better cfutures' figure is than the peer's (> 1: cfutures wins)."""
    if cf is None or peer is None or cf["value"] <= 0 or peer["value"] <= 0:
        return None
    if cf["better"] == "higher":
        return cf["value"] / peer["value"]
    return peer["value"] / cf["value"]


def fmt_advantage(a):
    if a is None:
        return "n/a"
    return f"{a:.3g}x"


def build_table(rows):
    """Rows of (workload, metric, competitor, figure, advantage text, advantage, record)."""
    groups = {}
    for r in rows:
        groups.setdefault((r["workload"], r["metric"]), []).append(r)
    metric_order = {}
    for r in rows:
        metric_order.setdefault(r["workload"], [])
        if r["metric"] not in metric_order[r["workload"]]:
            metric_order[r["workload"]].append(r["metric"])
    keys = sorted(groups, key=lambda k: (order_key(WORKLOADS, k[0]), k[0], metric_order[k[0]].index(k[1])))
    table = []
    for key in keys:
        recs = sorted(groups[key], key=lambda r: (order_key(COMPETITORS, r["competitor"]), r["competitor"]))
        cf = next((r for r in recs if r["competitor"] == "cfutures"), None)
        for r in recs:
            if r is cf:
                adv_text, adv = "-", None
            else:
                adv = advantage(cf, r)
                adv_text = fmt_advantage(adv)
            table.append((key[0], key[1], r["competitor"], fmt_figure(r["value"], r["unit"]), adv_text, adv, r))
    return table


def text_table(table):
    head = ("workload", "metric", "competitor", "figure", "cfutures advantage")
    cells = [head] + [t[:5] for t in table]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    lines = []
    prev = None
    for i, c in enumerate(cells):
        shown = list(c)
        if i > 0 and prev is not None and (c[0], c[1]) == (prev[0], prev[1]):
            shown[0] = shown[1] = ""  # one label per (workload, metric) group
        elif i > 0 and prev is not None and c[0] == prev[0]:
            shown[0] = ""
        if i > 1 and (c[0], c[1]) != (prev[0], prev[1]):
            lines.append("")
        lines.append("  ".join(s.ljust(w) if j < 4 else s.rjust(w) for j, (s, w) in enumerate(zip(shown, widths))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
        if i > 0:
            prev = c
        else:
            prev = None
    return "\n".join(lines)


def markdown_table(table):
    lines = ["| workload | metric | competitor | figure | cfutures advantage | note |",
             "| --- | --- | --- | ---: | ---: | --- |"]
    prev = None
    for t in table:
        w, m = t[0], t[1]
        shown_w = "" if prev and prev[0] == w else f"**{w}**"
        shown_m = "" if prev and (prev[0], prev[1]) == (w, m) else m
        name = f"**{t[2]}**" if t[2] == "cfutures" else t[2]
        note = t[6].get("note", "")
        n = t[6].get("n", 0)
        note = "; ".join(x for x in (f"n={n:,}" if n else "", note) if x)
        lines.append(f"| {shown_w} | {shown_m} | {name} | {t[3]} | {t[4]} | {note} |")
        prev = t
    return "\n".join(lines)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def compiler():
    for cxx in (os.environ.get("CXX"), "c++", "g++"):
        if cxx and shutil.which(cxx):
            try:
                out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False).stdout
                return out.splitlines()[0] if out else cxx
            except OSError:
                pass
    return "unknown"


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def draw(table, png):
    """A bar per (workload metric, peer): cfutures' advantage, log scale, bars grow from 1."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("report.py: gnuplot not found, no chart", file=sys.stderr)
        return False
    bars = [t for t in table if t[2] != "cfutures" and t[5] is not None]
    if not bars:
        return False
    peers = sorted({t[2] for t in bars}, key=lambda p: (order_key(COMPETITORS, p), p))
    colors = {"asio": "#1f77b4", "tbb": "#2ca02c", "boost.thread": "#8c564b", "qt": "#17becf", "std::async": "#9467bd", "python-thread": "#ff7f0e",
              "python-process": "#d62728", "pebble": "#e377c2"}
    lo = min(min(t[5] for t in bars), 1.0)
    hi = max(max(t[5] for t in bars), 1.0)
    # x positions: the bars of one (workload, metric) side by side, a gap between groups
    xs, x, prev = [], -1, None
    for t in bars:
        x += 1 if (t[0], t[1]) == prev else (2 if prev else 1)
        prev = (t[0], t[1])
        xs.append(x)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "bars.dat")
        with open(data, "w") as f:
            for block, peer in enumerate(peers):
                if block:
                    f.write("\n\n")
                for x, t in zip(xs, bars):
                    if t[2] == peer:
                        f.write(f"{x} {t[5]:.6g}\n")
        # one tic label per (workload, metric) group, under its middle
        groups = {}
        for x, t in zip(xs, bars):
            groups.setdefault((t[0], t[1]), []).append(x)
        tics = ", ".join('"{}" {:g}'.format(f"{w}: {m}".replace('"', "'"), sum(g) / len(g))
                         for (w, m), g in groups.items())
        plots = []
        for block, peer in enumerate(peers):
            color = colors.get(peer, "#7f7f7f")
            plots.append(f"'{data}' index {block} using 1:(1):($1-0.4):($1+0.4):(1):2 "
                         f"with boxxyerror fs solid 0.8 lc rgb '{color}' title '{peer}'")
        script = f"""
set terminal pngcairo noenhanced size {max(900, 20 * xs[-1] + 260)},720 font ',9'
set output '{png}'
set title "cfutures' advantage over each peer (times better; > 1: cfutures wins)"
set logscale y
set yrange [{lo / 1.5:.6g}:{hi * 1.5:.6g}]
set xrange [-1:{xs[-1] + 1}]
set xtics rotate by -50 scale 0 font ',8' ({tics})
set ytics nomirror
set grid ytics
set key outside top center horizontal
set arrow from -1,1 to {xs[-1] + 1},1 nohead lw 1.5 lc rgb 'black'
set bmargin 15
set lmargin 10
set ylabel 'times better'
plot {", ".join(plots)}
"""
        res = subprocess.run([gnuplot], input=script, text=True, capture_output=True)
        if res.returncode != 0:
            print("report.py: gnuplot failed:\n" + res.stderr, file=sys.stderr)
            return False
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results")
    p.add_argument("--quick", action="store_true", help="the run used the smoke-test sizes")
    p.add_argument("--load-before", default="", help="the load average when the run started")
    p.add_argument("--failed", nargs="*", default=[], help="programs that failed")
    p.add_argument("--md", default=os.path.join(HERE, "results.md"))
    p.add_argument("--png", default=os.path.join(HERE, "results.png"))
    args = p.parse_args()

    rows = load(args.results)
    if not rows:
        print("report.py: no figures in " + args.results, file=sys.stderr)
        return 1
    table = build_table(rows)
    print(text_table(table))
    if args.failed:
        print("\nfailed: " + ", ".join(args.failed))

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpus = os.cpu_count()
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    load_after = loadavg()
    mode = "quick (smoke-test sizes: do not quote these figures)" if args.quick else "full"
    chart = draw(table, args.png)

    md = [
        "# cfutures benchmarks",
        "",
        "Generated by `bench/run.sh` (see `bench/README.md` for what each workload does).",
        "",
        f"- date: {now}",
        f"- mode: {mode}",
        f"- machine: nproc = {cpus}, CPU: {cpu_model()}, {platform.system()} {platform.release()}",
        f"- compiler: {compiler()}; Python {platform.python_version()}",
        f"- load average (1, 5, 15 min): {args.load_before or 'unknown'} at the start, {load_after} at the end"
        " (other work on the machine makes the figures noisy)",
        "- every pool has 2 workers; the advantage is how many times better cfutures' figure is than the peer's,"
        " measured in the same run (> 1: cfutures wins)",
        "",
        markdown_table(table),
        "",
        "## Workloads (sizes of the full run; the note column gives each figure's n)",
        "",
    ]
    present = [w for w in WORKLOADS if any(r["workload"] == w for r in rows)]
    md += [f"- **{w}**: {DESCRIPTIONS[w]}" for w in present]
    if args.failed:
        md += ["", "## Failed programs", ""] + [f"- `{f}`" for f in args.failed]
    if chart:
        md += ["", "![cfutures' advantage per workload and peer](results.png)"]
    with open(args.md, "w") as f:
        f.write("\n".join(md) + "\n")
    print(f"\nwrote {os.path.relpath(args.md)}" + (f" and {os.path.relpath(args.png)}" if chart else ""))
    return 1 if args.failed else 0


if __name__ == "__main__":
    sys.exit(main())
