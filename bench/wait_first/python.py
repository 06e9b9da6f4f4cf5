"""wait(FIRST_COMPLETED), Python: the cost of one call over N futures.
N futures of a 2-worker ThreadPoolExecutor are pending: the first call waits
on event `first` (an event, not a spin: a spinning thread would hold the GIL),
the others on `rest`.
The clock starts, `first` is set and wait(fs, FIRST_COMPLETED) is called; the
clock stops when it returns. The first call's future is the last of the list
given to wait. Time per future in the call (as cfutures.cpp)."""
import os
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import bench  # noqa: E402


def main():
    args = bench.parse_args()
    n = 10_000 if args.quick else 100_000
    reps = 1 if args.quick else 3
    who = bench.competitor(args.executor)
    per_future = []
    with ThreadPoolExecutor(max_workers=bench.WORKERS) as ex:
        for rep in range(-1, reps):  # rep -1 warms up, on a tenth of N
            m = n // 10 if rep < 0 else n
            first, rest = threading.Event(), threading.Event()
            entered = threading.Semaphore(0)

            def first_task():
                entered.release()
                first.wait()
                return 0

            def rest_task(i):
                entered.release()
                rest.wait()
                return i & 0xFF

            f0 = ex.submit(first_task)
            fs = [ex.submit(rest_task, i) for i in range(1, m)] + [f0]
            entered.acquire()
            entered.acquire()

            t0 = bench.now_ns()
            first.set()
            done, not_done = wait(fs, return_when=FIRST_COMPLETED)
            t1 = bench.now_ns()
            assert f0 in done

            rest.set()
            sum(f.result() for f in fs)
            if rep >= 0:
                per_future.append((t1 - t0) / m)
    bench.emit("wait_first", who, "wait(FIRST_COMPLETED) call", bench.median(per_future), "ns/future", "lower", n)


if __name__ == "__main__":
    main()
