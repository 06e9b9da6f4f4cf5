// map with buffersize, std::async(std::launch::async): a window of 1,000
// std::futures, a thread per call; smaller N (the figure is a rate).
#include <deque>
#include <future>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(100'000, 5'000);
    constexpr std::size_t kBuffer = 1000;

    auto submit = [](int x) { return std::async(std::launch::async, [x] { return x & 0xff; }); };
    const std::size_t rss0 = bench::status_bytes("VmRSS");
    const auto t0 = bench::Clock::now();
    std::deque<std::future<int>> window;
    std::size_t next = 0;
    while (next < n && window.size() < kBuffer) window.push_back(submit(static_cast<int>(next++)));
    long sum = 0;
    while (!window.empty()) {
        sum += window.front().get();
        window.pop_front();
        if (next < n) window.push_back(submit(static_cast<int>(next++)));
    }
    const double s = bench::seconds_since(t0);
    bench::do_not_optimize(sum);
    const std::size_t hwm = bench::status_bytes("VmHWM");
    bench::emit("map_buffered", "std::async", "items/s", static_cast<double>(n) / s, "items/s", "higher", n,
                "thread per call, window of 1000");
    bench::emit("map_buffered", "std::async", "peak RSS (VmHWM)", static_cast<double>(hwm) / (1 << 20), "MiB", "lower",
                n);
    bench::emit("map_buffered", "std::async", "peak RSS growth", static_cast<double>(hwm - rss0) / (1 << 20), "MiB",
                "lower", n);
}
