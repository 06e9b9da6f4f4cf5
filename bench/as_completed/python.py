"""Fan-out/fan-in, Python: submit N calls to a 2-worker ThreadPoolExecutor,
then take every future from as_completed and result() it."""
import os
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import bench  # noqa: E402


def task(i):
    return i & 0xFF


def main():
    args = bench.parse_args()
    n = 10_000 if args.quick else 100_000
    reps = 1 if args.quick else 3
    who = bench.competitor(args.executor)
    rates = []
    with ThreadPoolExecutor(max_workers=bench.WORKERS) as ex:
        for rep in range(-1, reps):  # rep -1 warms up, on a tenth of N
            m = n // 10 if rep < 0 else n
            t0 = bench.now_ns()
            fs = [ex.submit(task, i) for i in range(m)]
            s = 0
            seen = 0
            for f in as_completed(fs):
                s += f.result()
                seen += 1
            t1 = bench.now_ns()
            assert seen == m
            if rep >= 0:
                rates.append(n / ((t1 - t0) * 1e-9))
    bench.emit("as_completed", who, "fan-out+fan-in", bench.median(rates), "futures/s", "higher", n)


if __name__ == "__main__":
    main()
