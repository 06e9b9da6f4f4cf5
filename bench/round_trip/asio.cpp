// Round trip, Boost.Asio: post one std::packaged_task to an idle 2-thread
// boost::asio::thread_pool and get() its std::future, one at a time: back to
// back, and after 1 ms idle.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <future>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    boost::asio::thread_pool pool(bench::kWorkers);
    long sum = 0;
    bench::round_trip_figures("asio", args.quick, [&](std::size_t i) {
        std::packaged_task<int()> task([i] { return static_cast<int>(i & 1); });
        auto f = task.get_future();
        boost::asio::post(pool, std::move(task));
        sum += f.get();
    });
    pool.join();
    bench::do_not_optimize(sum);
}
