"""Stopping calls, pebble (Debian's python3-pebble): a 2-worker pebble.ProcessPool
(forkserver, as cfutures'), warm; the same measurements as cfutures.cpp:
  - stop latency: future.cancel() of a running call that sleeps on, until a
    following call's result is back ("pool full": both workers run such a call;
    "other worker idle": one does);
  - timeout overshoot: a call that sleeps 1 s scheduled with timeout=0.1; the
    time from schedule until result() raises TimeoutError, minus 100 ms;
  - throughput of trivial calls scheduled with timeout=10 against none.
A call "runs" once it has created its marker file (the parent polls for it)."""
import concurrent.futures
import multiprocessing
import os
import shutil
import sys
import tempfile
import time

import pebble

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import bench  # noqa: E402

WORKLOAD = "stop_call"
WHO = "pebble"
LONGEST = 60.0  # a "forever" call gives up after this


def ident(x):
    return x


def low_byte(x):
    return x & 0xFF


def sleep_forever(marker):
    open(marker, "w").close()
    end = time.monotonic() + LONGEST
    while time.monotonic() < end:
        time.sleep(0.001)
    return 0


def sleep_s(s):
    time.sleep(s)
    return s


class NotStopped(Exception):
    pass


def await_marker(marker):
    end = time.monotonic() + 10
    while not os.path.exists(marker):
        if time.monotonic() > end:
            raise NotStopped("a call did not begin within 10 s")
        time.sleep(0.00005)


def settle(pool):
    """Both workers answer (a replaced one is up again) before the next sample."""
    fs = [pool.schedule(ident, args=(i,)) for i in range(20)]
    for f in fs:
        f.result(timeout=10)


def stop_latency_us(pool, markers, held):
    blockers = []
    for _ in range(held):  # one at a time: each begins on a worker of its own
        marker = markers()
        blockers.append(pool.schedule(sleep_forever, args=(marker,)))
        await_marker(marker)
    t0 = bench.now_ns()
    if not blockers[0].cancel():
        raise NotStopped("cancel() of a running call returned False")
    nxt = pool.schedule(ident, args=(7,))
    try:
        value = nxt.result(timeout=10)
    except concurrent.futures.TimeoutError:
        value = None
    t1 = bench.now_ns()
    for b in blockers:
        b.cancel()
    if value is None:
        raise NotStopped("no result within 10 s of cancel()")
    assert value == 7
    settle(pool)
    return (t1 - t0) / 1e3


def overshoot_us(pool):
    t0 = bench.now_ns()
    f = pool.schedule(sleep_s, args=(1.0,), timeout=0.1)
    try:
        f.result()
        raise NotStopped("a 1 s call given 100 ms returned its result")
    except concurrent.futures.TimeoutError:
        pass
    us = (bench.now_ns() - t0) / 1e3 - 100_000.0
    settle(pool)
    return us


def throughput(pool, n, timed):
    t0 = bench.now_ns()
    if timed:
        fs = [pool.schedule(low_byte, args=(i,), timeout=10) for i in range(n)]
    else:
        fs = [pool.schedule(low_byte, args=(i,)) for i in range(n)]
    sum(f.result() for f in fs)
    return n / ((bench.now_ns() - t0) * 1e-9)


def main():
    args = bench.parse_args(("process",))
    q = args.quick
    ctx = multiprocessing.get_context("forkserver")
    tmp = tempfile.mkdtemp(prefix="cf-bench-stop-py-")
    count = iter(range(1 << 30))

    def markers():
        return os.path.join(tmp, str(next(count)))

    failures = 0
    pool = pebble.ProcessPool(max_workers=bench.WORKERS, context=ctx)
    try:
        settle(pool)  # warm-up: both workers up

        n = 500 if q else 3_000
        reps = 1 if q else 3
        throughput(pool, n, True)
        throughput(pool, n, False)
        timed, untimed = [], []
        for _ in range(reps):
            timed.append(throughput(pool, n, True))
            untimed.append(throughput(pool, n, False))
        t, u = bench.median(timed), bench.median(untimed)
        note = "median of %d" % reps
        bench.emit(WORKLOAD, WHO, "submit+result, 10 s timeout", t, "tasks/s", "higher", n, note)
        bench.emit(WORKLOAD, WHO, "submit+result, no timeout", u, "tasks/s", "higher", n, note)
        bench.emit(WORKLOAD, WHO, "throughput ratio, 10 s timeout / none", t / u, "x", "higher", n)

        samples = 3 if q else 15
        try:
            overshoot_us(pool)  # warm-up
            us = [overshoot_us(pool) for _ in range(samples)]
            bench.emit(WORKLOAD, WHO, "timeout overshoot (100 ms limit), median", bench.quantile(us, 0.5), "us",
                       "lower", samples, "schedule(timeout=0.1)")
            bench.emit(WORKLOAD, WHO, "timeout overshoot (100 ms limit), max", bench.quantile(us, 1.0), "us",
                       "lower", samples)
        except NotStopped as e:
            print("stop_call: timeout overshoot not measured: %s" % e, file=sys.stderr)
            failures += 1

        for held in (bench.WORKERS, 1):
            metric = ("request_stop -> next result, pool full" if held == bench.WORKERS
                      else "request_stop -> next result, other worker idle")
            try:
                stop_latency_us(pool, markers, held)  # warm-up
                us = [stop_latency_us(pool, markers, held) for _ in range(samples)]
                bench.emit(WORKLOAD, WHO, metric + ", median", bench.quantile(us, 0.5), "us", "lower", samples,
                           "future.cancel() of the running call")
            except NotStopped as e:
                print("stop_call: %s not measured: %s" % (metric, e), file=sys.stderr)
                failures += 1
    finally:
        pool.stop()
        pool.join(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
