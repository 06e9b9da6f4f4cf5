// Fan-out/fan-in, Boost.Thread: 100,000 boost::async calls on a 2-thread
// basic_thread_pool, then boost::when_all over their futures and get(); time per call.
#define BOOST_THREAD_VERSION 5
#define BOOST_THREAD_PROVIDES_EXECUTORS
#define BOOST_THREAD_PROVIDES_FUTURE_WHEN_ALL_WHEN_ANY
#include <boost/thread/executors/basic_thread_pool.hpp>
#include <boost/thread/future.hpp>

#include <stdexcept>
#include <vector>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(100'000, 10'000);
    boost::executors::basic_thread_pool pool(bench::kWorkers);
    const double ns = bench::median_ns_per_op(n, args.quick ? 1 : 5, [&] {
        std::vector<boost::future<int>> fs;
        fs.reserve(n);
        for (std::size_t i = 0; i < n; ++i) fs.push_back(boost::async(pool, [i] { return static_cast<int>(i & 1); }));
        auto done = boost::when_all(fs.begin(), fs.end()).get();
        if (done.size() != n || done.back().get() != static_cast<int>((n - 1) & 1))
            throw std::logic_error("wrong when_all result");
    });
    bench::emit("fan_in", "boost.thread", "submit+when_all", ns, "ns/call", "lower", n);
}
