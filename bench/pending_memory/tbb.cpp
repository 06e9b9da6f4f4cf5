// Bytes per pending task, oneTBB (the floor: no futures): the one worker
// (parallelism capped at 2: the caller and one worker) is held by a gate,
// then N task_group::run calls of a small lambda (16 bytes captured) stay
// queued. RSS growth per task only: TBB allocates its tasks outside the
// global operator new, so a heap count would be wrong.
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_group.h>

#include <vector>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(1'000'000, 50'000);

    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, bench::kWorkers);
    std::vector<int> out(n);  // where the calls write: allocated and touched before the baseline
    tbb::task_group tg;
    bench::Gate gate;
    tg.run([&gate] { gate.wait(); });
    gate.await_entered(bench::kWorkers - 1);

    const int base = 7;
    const int* p = &base;
    int* dst = out.data();
    const std::size_t rss0 = bench::status_bytes("VmRSS");
    for (std::size_t i = 0; i < n; ++i) tg.run([dst, i, p] { dst[i] = *p + static_cast<int>(i & 0xff); });
    const std::size_t rss1 = bench::status_bytes("VmRSS");

    gate.open();
    tg.wait();
    long sum = 0;
    for (int v : out) sum += v;
    bench::do_not_optimize(sum);
    bench::emit("pending_memory", "tbb", "RSS per pending future", static_cast<double>(rss1 - rss0) / static_cast<double>(n),
                "bytes", "lower", n, "a pending task_group task, no future");
}
