"""A call that throws in a worker, Python: on a warm 2-worker
ProcessPoolExecutor (forkserver), the round trip of a call that raises
RuntimeError (its traceback travels as _RemoteTraceback, Python's __cause__),
beside the same call when it returns."""
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import bench  # noqa: E402


def maybe_throw(x):
    if x >= 0:
        raise RuntimeError("no %d" % x)
    return x


def median_round_trip(metric, samples, call):
    us = []
    now = bench.now_ns
    for i in range(samples + samples // 10):
        t0 = now()
        call(i)
        t1 = now()
        if i >= samples // 10:
            us.append((t1 - t0) / 1e3)
    bench.emit("remote_throw", "python-process", metric, bench.quantile(us, 0.5), "us", "lower", samples)


def main():
    args = bench.parse_args()
    n = 300 if args.quick else 5_000
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=bench.WORKERS, mp_context=ctx) as ex:
        for i in range(200):
            ex.submit(maybe_throw, -1 - i).result()

        def returns(i):
            assert ex.submit(maybe_throw, -1 - i).result() == -1 - i

        def throws(i):
            try:
                ex.submit(maybe_throw, i).result()
                raise AssertionError("no exception")
            except RuntimeError:
                pass

        median_round_trip("round trip, returns", n, returns)
        median_round_trip("round trip, throws", n, throws)


if __name__ == "__main__":
    main()
