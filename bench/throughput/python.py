"""Throughput, Python: submit N calls returning an int to a 2-worker
ThreadPoolExecutor, then result() each; also the submit phase alone.
N is smaller than in C++; the figures are rates."""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import bench  # noqa: E402


def task(i):
    return i & 0xFF


def main():
    args = bench.parse_args()
    n = 5_000 if args.quick else 100_000
    reps = 1 if args.quick else 3
    who = bench.competitor(args.executor)
    total, submit = [], []
    with ThreadPoolExecutor(max_workers=bench.WORKERS) as ex:
        for rep in range(-1, reps):  # rep -1 warms up, on a tenth of N
            m = n // 10 if rep < 0 else n
            t0 = bench.now_ns()
            fs = [ex.submit(task, i) for i in range(m)]
            t1 = bench.now_ns()
            s = sum(f.result() for f in fs)
            t2 = bench.now_ns()
            assert s == sum(i & 0xFF for i in range(m))
            if rep >= 0:
                submit.append(n / ((t1 - t0) * 1e-9))
                total.append(n / ((t2 - t0) * 1e-9))
    bench.emit("throughput", who, "submit+result", bench.median(total), "tasks/s", "higher", n)
    bench.emit("throughput", who, "submit phase", bench.median(submit), "tasks/s", "higher", n)


if __name__ == "__main__":
    main()
