// Throughput, oneTBB (the floor: no futures): tbb::task_group::run N calls
// that store an int, then wait(). Parallelism is capped at 2: the calling
// thread, which joins in at wait(), and one worker.
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_group.h>

#include <vector>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(1'000'000, 20'000);
    const int reps = args.quick ? 1 : 3;

    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, bench::kWorkers);
    std::vector<int> out(n);
    std::vector<double> total, submit;
    for (int rep = -1; rep < reps; ++rep) {
        tbb::task_group tg;
        const auto t0 = bench::Clock::now();
        for (std::size_t i = 0; i < n; ++i) tg.run([&out, i] { out[i] = static_cast<int>(i & 0xff); });
        const auto t1 = bench::Clock::now();
        tg.wait();
        long sum = 0;
        for (int v : out) sum += v;
        const auto t2 = bench::Clock::now();
        bench::do_not_optimize(sum);
        if (rep < 0) continue;
        submit.push_back(static_cast<double>(n) / (bench::ns_between(t0, t1) * 1e-9));
        total.push_back(static_cast<double>(n) / (bench::ns_between(t0, t2) * 1e-9));
    }
    bench::emit("throughput", "tbb", "submit+result", bench::median(total), "tasks/s", "higher", n,
                "task_group run+wait, no futures");
    bench::emit("throughput", "tbb", "submit phase", bench::median(submit), "tasks/s", "higher", n);
}
