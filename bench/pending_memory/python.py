"""Bytes per pending future, Python: both workers of a 2-worker
ThreadPoolExecutor are held by an event, then N calls (a module-level
function and its two arguments: the closure's state) are submitted and stay
queued. Per future: RSS growth, and in a second pass with tracemalloc on,
the heap bytes Python allocated. The list holding the futures is allocated
before the baseline; N is smaller than in C++ (figures are per future)."""
import os
import sys
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import bench  # noqa: E402


def small(i, base):
    return base[0] + (i & 0xFF)


def measure(n, use_tracemalloc):
    gate = threading.Event()
    entered = threading.Semaphore(0)

    def hold():
        entered.release()
        gate.wait()

    base = [7]
    with ThreadPoolExecutor(max_workers=bench.WORKERS) as ex:
        held = [ex.submit(hold) for _ in range(bench.WORKERS)]
        for _ in range(bench.WORKERS):
            entered.acquire()
        fs = [None] * n
        if use_tracemalloc:
            tracemalloc.start()
            heap0 = tracemalloc.get_traced_memory()[0]
        rss0 = bench.status_bytes("VmRSS")
        for i in range(n):
            fs[i] = ex.submit(small, i, base)
        rss1 = bench.status_bytes("VmRSS")
        if use_tracemalloc:
            heap1 = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
        gate.set()
        sum(f.result() for f in fs)
        for f in held:
            f.result()
    if use_tracemalloc:
        return (heap1 - heap0) / n
    return (rss1 - rss0) / n


def main():
    args = bench.parse_args()
    who = bench.competitor(args.executor)
    n = 20_000 if args.quick else 200_000
    rss = measure(n, False)
    heap = measure(n // 2, True)
    bench.emit("pending_memory", who, "heap per pending future", heap, "bytes", "lower", n // 2, "tracemalloc")
    bench.emit("pending_memory", who, "RSS per pending future", rss, "bytes", "lower", n)


if __name__ == "__main__":
    main()
