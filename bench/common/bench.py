"""What every Python benchmark shares: the command line, the JSON line each
figure is printed as, clocks, percentiles and /proc/self/status readers.
Python's side of bench/: each workload's python.py imports this module."""
import argparse
import json
import statistics
import sys
import time

WORKERS = 2  # every pool in the suite has this many workers


def parse_args(executors=("thread",)):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="smoke-test sizes")
    p.add_argument("--executor", choices=executors, default=executors[0])
    return p.parse_args()


def competitor(executor):
    return "python-" + executor


def emit(workload, competitor, metric, value, unit, better, n=0, note=""):
    print(json.dumps({"workload": workload, "competitor": competitor, "metric": metric,
                      "value": float(f"{value:.6g}"), "unit": unit, "better": better,
                      "n": n, "note": note}), flush=True)


now_ns = time.perf_counter_ns


def median(xs):
    return statistics.median(xs)


def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


def status_bytes(field):
    """A field of /proc/self/status (VmRSS, VmHWM, ...) in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def python_version():
    return "%d.%d" % sys.version_info[:2]
