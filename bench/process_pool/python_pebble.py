"""Process pool, pebble (Debian's python3-pebble), a second Python peer beside
concurrent.futures: python.py's workload, on a 2-worker pebble.ProcessPool
(forkserver, as cfutures'), a call being schedule(fn, args=(x,)) and the map
pool.map(fn, xs, chunksize=1000)."""
import multiprocessing
import os
import sys

import pebble

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import bench  # noqa: E402
from python import measure  # noqa: E402  (this folder's python.py)


def main():
    args = bench.parse_args(("process",))
    pool = pebble.ProcessPool(max_workers=bench.WORKERS, context=multiprocessing.get_context("forkserver"))
    try:
        measure("pebble", args.quick, lambda fn, x: pool.schedule(fn, args=(x,)),
                lambda fn, xs: pool.map(fn, xs, chunksize=1000).result())
    finally:
        pool.close()
        pool.join(timeout=30)


if __name__ == "__main__":
    main()
