// Round trip, oneTBB (the floor: no futures): task_group::run one call, then
// wait(); back to back, and after 1 ms idle. wait() may run the call on the
// calling thread itself, so this is the cost of the task machinery rather
// than of a hand-off to a worker. So a second competitor, "tbb-handoff", hands
// each call to a TBB worker thread (task_arena::enqueue, no slot reserved for
// the caller) and waits on a std::atomic (spin, then futex): the same journey
// as a pool's submit → result().
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>

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

    // One slot: max_allowed_parallelism counts the calling thread, so TBB runs 1 worker
    // thread here (asking for 2 only prints a warning); one call at a time needs no more.
    tbb::task_arena arena(1, /*reserved_for_masters=*/0);
    std::atomic<int> done{0};
    bench::round_trip_figures(
        "tbb-handoff", args.quick,
        [&](std::size_t i) {
            int out = 0;
            arena.enqueue([&out, &done, i] {
                out = static_cast<int>(i & 1);
                done.store(1, std::memory_order_release);
                done.notify_one();
            });
            while (done.load(std::memory_order_acquire) == 0) done.wait(0, std::memory_order_acquire);
            done.store(0, std::memory_order_relaxed);
            sum += out;
        },
        "task_arena::enqueue to a worker thread, then wait on an atomic");
    bench::do_not_optimize(sum);
}
