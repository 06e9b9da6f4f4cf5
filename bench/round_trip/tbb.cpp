// Round trip, oneTBB (the floor: no futures): task_group::run one call, then
// wait(); back to back, and after 1 ms idle. wait() may run the call on the
// calling thread itself, so this is the cost of the task machinery rather
// than of a hand-off to a worker.
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_group.h>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, bench::kWorkers);
    tbb::task_group tg;
    long sum = 0;
    bench::round_trip_figures(
        "tbb", args.quick,
        [&](std::size_t i) {
            int out = 0;
            tg.run([&out, i] { out = static_cast<int>(i & 1); });
            tg.wait();
            sum += out;
        },
        "run+wait; wait() may run the call itself");
    bench::do_not_optimize(sum);
}
