// Throughput, Boost.Asio: post N std::packaged_task<int()> to a 2-thread
// boost::asio::thread_pool, then get() each std::future.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <future>
#include <vector>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(1'000'000, 20'000);
    const int reps = args.quick ? 1 : 3;

    boost::asio::thread_pool pool(bench::kWorkers);
    std::vector<std::future<int>> fs;
    fs.reserve(n);
    std::vector<double> total, submit;
    for (int rep = -1; rep < reps; ++rep) {
        fs.clear();
        const auto t0 = bench::Clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            std::packaged_task<int()> task([i] { return static_cast<int>(i & 0xff); });
            fs.push_back(task.get_future());
            boost::asio::post(pool, std::move(task));
        }
        const auto t1 = bench::Clock::now();
        long sum = 0;
        for (auto& f : fs) sum += f.get();
        const auto t2 = bench::Clock::now();
        bench::do_not_optimize(sum);
        if (rep < 0) continue;
        submit.push_back(static_cast<double>(n) / (bench::ns_between(t0, t1) * 1e-9));
        total.push_back(static_cast<double>(n) / (bench::ns_between(t0, t2) * 1e-9));
    }
    pool.join();
    bench::emit("throughput", "asio", "submit+result", bench::median(total), "tasks/s", "higher", n);
    bench::emit("throughput", "asio", "submit phase", bench::median(submit), "tasks/s", "higher", n);
}
