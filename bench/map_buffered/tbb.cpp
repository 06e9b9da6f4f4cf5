// map with buffersize, oneTBB (the floor: no futures): parallel_pipeline with
// 1,000 tokens in flight, a serial in-order source, the call in parallel and
// a serial in-order sink, which is an ordered, bounded map. Parallelism is
// capped at 2 (the calling thread and one worker).
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(10'000'000, 200'000);
    constexpr std::size_t kBuffer = 1000;

    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, bench::kWorkers);
    const std::size_t rss0 = bench::status_bytes("VmRSS");
    const auto t0 = bench::Clock::now();
    std::size_t next = 0;
    long sum = 0;
    tbb::parallel_pipeline(kBuffer,
                           tbb::make_filter<void, int>(tbb::filter_mode::serial_in_order,
                                                       [&](tbb::flow_control& fc) {
                                                           if (next >= n) {
                                                               fc.stop();
                                                               return 0;
                                                           }
                                                           return static_cast<int>(next++);
                                                       }) &
                               tbb::make_filter<int, int>(tbb::filter_mode::parallel, [](int x) { return x & 0xff; }) &
                               tbb::make_filter<int, void>(tbb::filter_mode::serial_in_order, [&](int v) { sum += v; }));
    const double s = bench::seconds_since(t0);
    bench::do_not_optimize(sum);
    const std::size_t hwm = bench::status_bytes("VmHWM");
    bench::emit("map_buffered", "tbb", "items/s", static_cast<double>(n) / s, "items/s", "higher", n,
                "parallel_pipeline, 1000 tokens");
    bench::emit("map_buffered", "tbb", "peak RSS (VmHWM)", static_cast<double>(hwm) / (1 << 20), "MiB", "lower", n);
    bench::emit("map_buffered", "tbb", "peak RSS growth", static_cast<double>(hwm - rss0) / (1 << 20), "MiB", "lower",
                n);
}
