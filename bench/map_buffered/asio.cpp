// map with buffersize, Boost.Asio + std::packaged_task: what map(buffersize=1000)
// does, by hand: a window of 1,000 std::futures; taking the oldest result
// posts the next call. Items/s and peak RSS (VmHWM).
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <deque>
#include <future>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(10'000'000, 200'000);
    constexpr std::size_t kBuffer = 1000;

    boost::asio::thread_pool pool(bench::kWorkers);
    auto submit = [&pool](int x) {
        std::packaged_task<int()> task([x] { return x & 0xff; });
        auto f = task.get_future();
        boost::asio::post(pool, std::move(task));
        return f;
    };
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
    pool.join();
    bench::do_not_optimize(sum);
    const std::size_t hwm = bench::status_bytes("VmHWM");
    bench::emit("map_buffered", "asio", "items/s", static_cast<double>(n) / s, "items/s", "higher", n,
                "window of 1000 futures by hand");
    bench::emit("map_buffered", "asio", "peak RSS (VmHWM)", static_cast<double>(hwm) / (1 << 20), "MiB", "lower", n);
    bench::emit("map_buffered", "asio", "peak RSS growth", static_cast<double>(hwm - rss0) / (1 << 20), "MiB", "lower",
                n);
}
