"""map with buffersize, Python: ThreadPoolExecutor.map over range(N) with
buffersize=1000 (Python >= 3.14; older Pythons get the same algorithm by
hand, as 3.14 implements it: a deque of 1,000 futures, taking the oldest
result submits the next call). Items/s and peak RSS (VmHWM). N is smaller
than in C++; the figures are a rate and the (bounded) peak memory."""
import collections
import itertools
import os
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import bench  # noqa: E402

BUFFERSIZE = 1000


def task(x):
    return x & 0xFF


def buffered_map(ex, fn, iterable, buffersize):
    if sys.version_info >= (3, 14):
        yield from ex.map(fn, iterable, buffersize=buffersize)
        return
    args = iter(iterable)
    window = collections.deque(ex.submit(fn, a) for a in itertools.islice(args, buffersize))
    while window:
        f = window.popleft()
        for a in itertools.islice(args, 1):
            window.append(ex.submit(fn, a))
        yield f.result()


def main():
    args = bench.parse_args()
    n = 20_000 if args.quick else 300_000
    who = bench.competitor(args.executor)
    note = "" if sys.version_info >= (3, 14) else "Python %s: buffersize by hand" % bench.python_version()
    with ThreadPoolExecutor(max_workers=bench.WORKERS) as ex:
        rss0 = bench.status_bytes("VmRSS")
        t0 = bench.now_ns()
        s = sum(buffered_map(ex, task, range(n), BUFFERSIZE))
        t1 = bench.now_ns()
    assert s == sum(i & 0xFF for i in range(n))
    hwm = bench.status_bytes("VmHWM")
    bench.emit("map_buffered", who, "items/s", n / ((t1 - t0) * 1e-9), "items/s", "higher", n, note)
    bench.emit("map_buffered", who, "peak RSS (VmHWM)", hwm / 2**20, "MiB", "lower", n)
    bench.emit("map_buffered", who, "peak RSS growth", (hwm - rss0) / 2**20, "MiB", "lower", n)


if __name__ == "__main__":
    main()
