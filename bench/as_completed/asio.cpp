// Fan-out/fan-in, Boost.Asio: post N std::packaged_task to a 2-thread
// boost::asio::thread_pool, then get() the std::futures. std::future has no
// as_completed, so the fan-in is in submission order: what a user without it
// would write, and a lower bound on what as_completed must cost.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <future>
#include <vector>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(100'000, 10'000);
    const int reps = args.quick ? 1 : 5;

    boost::asio::thread_pool pool(bench::kWorkers);
    std::vector<double> rates;
    for (int rep = -1; rep < reps; ++rep) {
        std::vector<std::future<int>> fs;
        fs.reserve(n);
        const auto t0 = bench::Clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            std::packaged_task<int()> task([i] { return static_cast<int>(i & 0xff); });
            fs.push_back(task.get_future());
            boost::asio::post(pool, std::move(task));
        }
        long sum = 0;
        for (auto& f : fs) sum += f.get();
        const auto t1 = bench::Clock::now();
        bench::do_not_optimize(sum);
        if (rep >= 0) rates.push_back(static_cast<double>(n) / (bench::ns_between(t0, t1) * 1e-9));
    }
    pool.join();
    bench::emit("as_completed", "asio", "fan-out+fan-in", bench::median(rates), "futures/s", "higher", n,
                "no as_completed: get() in submission order");
}
