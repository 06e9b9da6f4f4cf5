"""The primes example, Python: the documentation's ProcessPoolExecutor example
as a whole (2 workers, forkserver as cfutures'): create the executor,
executor.map(is_prime, PRIMES), take the results, shut down. Wall time of the
with-block; the median of several runs."""
import math
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import bench  # noqa: E402

PRIMES = [
    112272535095293,
    112582705942171,
    112272535095293,
    115280095190773,
    115797848077099,
    1099726899285419]


def is_prime(n):
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False

    sqrt_n = int(math.floor(math.sqrt(n)))
    for i in range(3, sqrt_n + 1, 2):
        if n % i == 0:
            return False
    return True


def main():
    args = bench.parse_args(("process",))
    who = bench.competitor(args.executor)
    reps = 1 if args.quick else 3
    ctx = multiprocessing.get_context("forkserver")
    secs = []
    for _ in range(reps):
        t0 = bench.now_ns()
        with ProcessPoolExecutor(max_workers=bench.WORKERS, mp_context=ctx) as executor:
            found = sum(executor.map(is_prime, PRIMES))
        secs.append((bench.now_ns() - t0) * 1e-9)
        assert found == 5
    bench.emit("primes", who, "whole example", bench.median(secs), "s", "lower", reps,
               "pool start + map + shutdown")


if __name__ == "__main__":
    main()
