"""Round trip, Python: submit one call to an idle 2-worker ThreadPoolExecutor
and result() it, one at a time: back to back (20,000 samples after 2,000
warm-up), and after 1 ms idle (2,000 samples)."""
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import bench  # noqa: E402


def task(i):
    return i & 1


def time_calls(ex, warmup, samples, gap):
    ns = []
    now = bench.now_ns
    for i in range(warmup + samples):
        if gap:
            time.sleep(gap)
        t0 = now()
        ex.submit(task, i).result()
        t1 = now()
        if i >= warmup:
            ns.append(t1 - t0)
    return ns


def main():
    args = bench.parse_args()
    who = bench.competitor(args.executor)
    samples = 2_000 if args.quick else 20_000
    idle_samples = 100 if args.quick else 2_000
    with ThreadPoolExecutor(max_workers=bench.WORKERS) as ex:
        hot = time_calls(ex, samples // 10, samples, 0)
        idle = time_calls(ex, idle_samples // 10, idle_samples, 0.001)
    bench.emit("round_trip", who, "median", bench.quantile(hot, 0.5), "ns", "lower", samples)
    bench.emit("round_trip", who, "p99", bench.quantile(hot, 0.99), "ns", "lower", samples)
    bench.emit("round_trip", who, "median after 1 ms idle", bench.quantile(idle, 0.5), "ns", "lower", idle_samples)
    bench.emit("round_trip", who, "p99 after 1 ms idle", bench.quantile(idle, 0.99), "ns", "lower", idle_samples)


if __name__ == "__main__":
    main()
