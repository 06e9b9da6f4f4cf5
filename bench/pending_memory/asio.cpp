// Bytes per pending future, Boost.Asio + std::packaged_task: both threads of a
// 2-thread boost::asio::thread_pool are held by a gate, then N packaged_tasks
// of a small lambda (16 bytes captured) are posted and stay queued. Per
// future: live heap bytes (global operator new counted) and RSS growth; the
// vector of std::futures is allocated and touched before the baseline.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstring>
#include <future>
#include <vector>

#include "bench.hpp"
#include "count_new.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(1'000'000, 50'000);

    boost::asio::thread_pool pool(bench::kWorkers);
    bench::Gate gate;
    for (int w = 0; w < bench::kWorkers; ++w) boost::asio::post(pool, [&gate] { gate.wait(); });
    gate.await_entered(bench::kWorkers);

    std::vector<std::future<int>> fs;
    fs.reserve(n);
    std::memset(static_cast<void*>(fs.data()), 0, n * sizeof(std::future<int>));
    const int base = 7;
    const int* p = &base;

    const long long heap0 = bench::live_heap_bytes();
    const std::size_t rss0 = bench::status_bytes("VmRSS");
    for (std::size_t i = 0; i < n; ++i) {
        std::packaged_task<int()> task([i, p] { return *p + static_cast<int>(i & 0xff); });
        fs.push_back(task.get_future());
        boost::asio::post(pool, std::move(task));
    }
    const long long heap1 = bench::live_heap_bytes();
    const std::size_t rss1 = bench::status_bytes("VmRSS");

    gate.open();
    long sum = 0;
    for (auto& f : fs) sum += f.get();
    bench::do_not_optimize(sum);
    pool.join();
    const auto dn = static_cast<double>(n);
    bench::emit("pending_memory", "asio", "heap per pending future", static_cast<double>(heap1 - heap0) / dn, "bytes",
                "lower", n);
    bench::emit("pending_memory", "asio", "RSS per pending future", static_cast<double>(rss1 - rss0) / dn, "bytes",
                "lower", n);
}
