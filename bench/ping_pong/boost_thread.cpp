// Ping-pong, Boost.Thread: 20,000 sequential boost::async on a 2-thread
// basic_thread_pool -> then(launch::sync) -> get(); time per call. Boost has no
// coroutines: the same figure stands against cfutures' co_await row.
#define BOOST_THREAD_VERSION 5
#define BOOST_THREAD_PROVIDES_EXECUTORS
#include <boost/thread/executors/basic_thread_pool.hpp>
#include <boost/thread/future.hpp>

#include <stdexcept>

#include "bench.hpp"

namespace {
int next(int v) { return v + 1; }
}  // namespace

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(20'000, 2'000);
    boost::executors::basic_thread_pool pool(bench::kWorkers);
    const double ns = bench::median_ns_per_op(n, args.quick ? 1 : 5, [&] {
        int v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            v = boost::async(pool, [v] { return next(v); })
                    .then(boost::launch::sync, [](boost::future<int> r) { return r.get() + 1; })
                    .get();
        }
        if (v != static_cast<int>(2 * n)) throw std::logic_error("wrong ping-pong result");
    });
    bench::emit("ping_pong", "boost.thread", "submit+then+result", ns, "ns/call", "lower", n);
    bench::emit("ping_pong", "boost.thread", "co_await each submit", ns, "ns/call", "lower", n,
                "no coroutines: its submit+then+result");
}
