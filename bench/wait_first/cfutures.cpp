// wait(FIRST_COMPLETED), cfutures: the cost of one call over N futures.
// N futures of a 2-worker ThreadPoolExecutor are pending: the first call spins
// on gate `first`, the others sleep on gate `rest` (one of them holds the
// second worker, the rest are queued). The first call's future is the last of
// the list given to wait. The clock starts, `first` opens (that call finishes
// within nanoseconds, no thread to wake) and cf::wait(fs, FIRST_COMPLETED) is
// called; the clock stops when it returns. Every implementation thus examines
// all N futures once and returns the done/not-done split: time per future.
#include <cfutures/cfutures.hpp>

#include <vector>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(100'000, 10'000);
    const int reps = args.quick ? 1 : 5;

    cf::ThreadPoolExecutor ex(bench::kWorkers);
    std::vector<double> per_future;
    for (int rep = -1; rep < reps; ++rep) {
        bench::SpinGate first;
        bench::Gate rest;
        std::vector<cf::Future<int>> fs;
        fs.reserve(n);
        const auto first_future = ex.submit([&first] {
            first.wait();
            return 0;
        });
        for (std::size_t i = 1; i < n; ++i) {
            fs.push_back(ex.submit([&rest, i] {
                rest.wait();
                return static_cast<int>(i & 0xff);
            }));
        }
        fs.push_back(first_future);
        first.await_entered(1);
        rest.await_entered(1);

        const auto t0 = bench::Clock::now();
        first.open();
        auto r = cf::wait(fs, cf::FIRST_COMPLETED);
        const auto t1 = bench::Clock::now();
        if (!r.done.contains(first_future)) return 1;

        rest.open();
        long sum = 0;
        for (const auto& f : fs) sum += f.result();
        bench::do_not_optimize(sum);
        if (rep >= 0) per_future.push_back(bench::ns_between(t0, t1) / static_cast<double>(n));
    }
    bench::emit("wait_first", "cfutures", "wait(FIRST_COMPLETED) call", bench::median(per_future), "ns/future",
                "lower", n);
}
