// Fan-out/fan-in, oneTBB (the floor: no futures, no completion order):
// task_group::run N calls, then wait() for all.
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_group.h>

#include <vector>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(100'000, 10'000);
    const int reps = args.quick ? 1 : 5;

    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, bench::kWorkers);
    std::vector<int> out(n);
    std::vector<double> rates;
    for (int rep = -1; rep < reps; ++rep) {
        tbb::task_group tg;
        const auto t0 = bench::Clock::now();
        for (std::size_t i = 0; i < n; ++i) tg.run([&out, i] { out[i] = static_cast<int>(i & 0xff); });
        tg.wait();
        long sum = 0;
        for (int v : out) sum += v;
        const auto t1 = bench::Clock::now();
        bench::do_not_optimize(sum);
        if (rep >= 0) rates.push_back(static_cast<double>(n) / (bench::ns_between(t0, t1) * 1e-9));
    }
    bench::emit("as_completed", "tbb", "fan-out+fan-in", bench::median(rates), "futures/s", "higher", n,
                "task_group run+wait, no futures");
}
