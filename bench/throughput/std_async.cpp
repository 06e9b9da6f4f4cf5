// Throughput, std::async(std::launch::async): a thread per call, so the calls
// go through a window of 1,000 in flight (submit one, get() the oldest) and N
// is smaller; the figure is a rate, comparable with the others.
#include <deque>
#include <future>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(50'000, 2'000);
    constexpr std::size_t kWindow = 1000;
    const int reps = args.quick ? 1 : 3;

    std::vector<double> total;
    for (int rep = -1; rep < reps; ++rep) {
        std::deque<std::future<int>> window;
        long sum = 0;
        const auto t0 = bench::Clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            if (window.size() == kWindow) {
                sum += window.front().get();
                window.pop_front();
            }
            window.push_back(std::async(std::launch::async, [i] { return static_cast<int>(i & 0xff); }));
        }
        for (auto& f : window) sum += f.get();
        const auto t1 = bench::Clock::now();
        bench::do_not_optimize(sum);
        if (rep >= 0) total.push_back(static_cast<double>(n) / (bench::ns_between(t0, t1) * 1e-9));
    }
    bench::emit("throughput", "std::async", "submit+result", bench::median(total), "tasks/s", "higher", n,
                "thread per call, window of 1000 in flight");
}
