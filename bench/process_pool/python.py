"""Process pool, Python: a 2-worker ProcessPoolExecutor (forkserver, the
default from 3.14 on, as cfutures'), measured warm: round trip of one call;
unchunked throughput (submit N calls returning an int, then result() each);
map with chunksize 1000 over N ints; echo of 1 KiB and 1 MiB bytes.
N is smaller than in C++ where C++'s would take too long; figures are rates
or per-call times."""
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import bench  # noqa: E402

WORKLOAD = "process_pool"


def ident(x):
    return x


def low_byte(x):
    return x & 0xFF


def echo(b):
    return b


def round_trips(who, metric, samples, call, after_idle=False):
    us = []
    warm = samples // 10
    for i in range(samples + warm):
        if after_idle:
            time.sleep(0.001)  # the workers sleep
        t0 = bench.now_ns()
        call(i)
        t1 = bench.now_ns()
        if i >= warm:
            us.append((t1 - t0) / 1e3)
    bench.emit(WORKLOAD, who, metric + " median", bench.quantile(us, 0.5), "us", "lower", samples)
    if metric == "round trip":
        bench.emit(WORKLOAD, who, metric + " p99", bench.quantile(us, 0.99), "us", "lower", samples)


def measure(who, q, submit, map_chunked):
    """The workload on a warm pool: submit(fn, arg) gives a future, map_chunked(fn, iterable)
    the results of a map with chunksize 1000 (python_pebble.py measures pebble with it)."""
    fs = [submit(ident, i) for i in range(200)]  # warm-up: both workers up
    [f.result() for f in fs]

    def rt(i):
        assert submit(ident, i).result() == i
    round_trips(who, "round trip", 300 if q else 5_000, rt)
    round_trips(who, "round trip after 1 ms idle", 100 if q else 1_000, rt, after_idle=True)

    n = 2_000 if q else 20_000
    t0 = bench.now_ns()
    fs = [submit(low_byte, i) for i in range(n)]
    sum(f.result() for f in fs)
    t1 = bench.now_ns()
    bench.emit(WORKLOAD, who, "unchunked submit+result", n / ((t1 - t0) * 1e-9), "tasks/s", "higher", n)

    n = 100_000 if q else 1_000_000
    t0 = bench.now_ns()
    sum(map_chunked(low_byte, range(n)))
    t1 = bench.now_ns()
    bench.emit(WORKLOAD, who, "map chunksize=1000", n / ((t1 - t0) * 1e-9), "items/s", "higher", n)

    kib = b"x" * 1024
    mib = b"x" * (1 << 20)

    def echo_kib(i):
        assert len(submit(echo, kib).result()) == len(kib)

    def echo_mib(i):
        assert len(submit(echo, mib).result()) == len(mib)
    round_trips(who, "echo 1 KiB", 200 if q else 2_000, echo_kib)
    round_trips(who, "echo 1 MiB", 20 if q else 200, echo_mib)


def main():
    args = bench.parse_args(("process",))
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=bench.WORKERS, mp_context=ctx) as ex:
        measure(bench.competitor(args.executor), args.quick, ex.submit,
                lambda fn, xs: ex.map(fn, xs, chunksize=1000))


if __name__ == "__main__":
    main()
