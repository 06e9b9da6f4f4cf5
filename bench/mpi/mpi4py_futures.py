"""mpi4py.futures.MPIPoolExecutor on the workloads of bench/mpi/cfutures.cpp:
  mpi_round_trip   submit(identity, i).result(), one call at a time   (median, p99; ns, lower)
  mpi_throughput   submit N small calls, then result() each           (calls/s, higher)
  mpi_map_chunked  map(square, 1,000,000 ints, chunksize=1000)        (items/s, higher)
Workers are spawned (dynamic mode), --workers of them (default 2). One JSON line per figure.
Usage: python3 mpi4py_futures.py [--quick] [--workers N]   (Debian's python3-mpi4py: /usr/bin/python3)
"""
import argparse
import json
import sys
import time

_t_import = time.perf_counter()
from mpi4py import MPI  # noqa: E402  (MPI starts here: timed as "MPI init")
_mpi_init_s = time.perf_counter() - _t_import
from mpi4py.futures import MPIPoolExecutor  # noqa: E402


def identity(x):
    return x


def square(x):
    return x * x


def emit(workload, metric, value, unit, better, n, note=""):
    print(json.dumps({"workload": workload, "competitor": "mpi4py", "metric": metric, "value": float(f"{value:.6g}"),
                      "unit": unit, "better": better, "n": n, "note": note}), flush=True)


def quantile(values, q):
    values = sorted(values)
    return values[min(int(q * (len(values) - 1) + 0.5), len(values) - 1)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    note = f"{args.workers} spawned workers"
    now = time.perf_counter_ns

    emit("mpi_startup", "MPI init", _mpi_init_s, "s", "lower", 1, note)
    t_spawn = time.perf_counter()
    with MPIPoolExecutor(max_workers=args.workers) as ex:
        for f in [ex.submit(identity, i) for i in range(4 * args.workers)]:
            f.result()
        emit("mpi_startup", "spawn and first replies", time.perf_counter() - t_spawn, "s", "lower", 1, note)

        samples = 2_000 if args.quick else 20_000
        warmup = samples // 10
        ns = []
        for i in range(warmup + samples):
            t0 = now()
            v = ex.submit(identity, i).result()
            t1 = now()
            assert v == i
            if i >= warmup:
                ns.append(t1 - t0)
        emit("mpi_round_trip", "median", quantile(ns, 0.5), "ns", "lower", samples, note)
        emit("mpi_round_trip", "p99", quantile(ns, 0.99), "ns", "lower", samples)

        n = 10_000 if args.quick else 100_000
        t0 = time.perf_counter()
        fs = [ex.submit(square, i) for i in range(n)]
        total = sum(f.result() for f in fs)
        s = time.perf_counter() - t0
        assert total > 0
        emit("mpi_throughput", "calls per second", n / s, "calls/s", "higher", n, note)

        n = 200_000 if args.quick else 1_000_000
        t0 = time.perf_counter()
        count = 0
        total = 0
        for v in ex.map(square, range(n), chunksize=1000):
            total += v
            count += 1
        s = time.perf_counter() - t0
        assert count == n and total > 0
        emit("mpi_map_chunked", "items per second", n / s, "items/s", "higher", n, note + ", chunksize 1000")
    return 0


if __name__ == "__main__":
    sys.exit(main())
