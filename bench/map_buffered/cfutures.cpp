// map with buffersize, cfutures: ThreadPoolExecutor::map over N ints (a lazy
// iota range) with MapOptions{.buffersize = 1000}, results taken in order.
// Items/s, and the process's peak RSS (VmHWM; this program does nothing else).
#include <cfutures/cfutures.hpp>

#include <ranges>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(10'000'000, 200'000);

    cf::ThreadPoolExecutor ex(bench::kWorkers);
    const std::size_t rss0 = bench::status_bytes("VmRSS");
    const auto t0 = bench::Clock::now();
    long sum = 0;
    for (int v : ex.map([](int x) { return x & 0xff; }, std::views::iota(0, static_cast<int>(n)),
                        cf::MapOptions{.buffersize = 1000})) {
        sum += v;
    }
    const double s = bench::seconds_since(t0);
    bench::do_not_optimize(sum);
    const std::size_t hwm = bench::status_bytes("VmHWM");
    bench::emit("map_buffered", "cfutures", "items/s", static_cast<double>(n) / s, "items/s", "higher", n);
    bench::emit("map_buffered", "cfutures", "peak RSS (VmHWM)", static_cast<double>(hwm) / (1 << 20), "MiB", "lower", n);
    bench::emit("map_buffered", "cfutures", "peak RSS growth", static_cast<double>(hwm - rss0) / (1 << 20), "MiB",
                "lower", n);
}
