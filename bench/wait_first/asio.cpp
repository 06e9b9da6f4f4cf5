// wait(FIRST_COMPLETED), Boost.Asio + std::packaged_task. std::future has no
// wait-for-any, so the call is emulated the way a user would: sweep the
// futures with wait_for(0s) until one is ready. Same set-up and clock as
// cfutures.cpp (a spinning gate `first`, a sleeping gate `rest`, on a 2-thread
// pool; the future that finishes is the last of the list, so the sweep looks
// at every future once).
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <vector>

#include "bench.hpp"

namespace {
std::size_t wait_first_completed(std::vector<std::future<int>>& fs) {
    for (;;) {
        for (std::size_t i = 0; i < fs.size(); ++i) {
            if (fs[i].wait_for(std::chrono::seconds(0)) == std::future_status::ready) return i;
        }
    }
}
}  // namespace

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(100'000, 10'000);
    const int reps = args.quick ? 1 : 5;

    boost::asio::thread_pool pool(bench::kWorkers);
    std::vector<double> per_future;
    for (int rep = -1; rep < reps; ++rep) {
        bench::SpinGate first;
        bench::Gate rest;
        std::vector<std::future<int>> fs;
        fs.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            std::packaged_task<int()> task([&first, &rest, i] {
                if (i == 0) first.wait();
                else rest.wait();
                return static_cast<int>(i & 0xff);
            });
            fs.push_back(task.get_future());
            boost::asio::post(pool, std::move(task));
        }
        std::rotate(fs.begin(), fs.begin() + 1, fs.end());  // the first call's future goes last
        first.await_entered(1);
        rest.await_entered(1);

        const auto t0 = bench::Clock::now();
        first.open();
        const std::size_t ready = wait_first_completed(fs);
        const auto t1 = bench::Clock::now();
        if (ready != n - 1) return 1;

        rest.open();
        long sum = 0;
        for (auto& f : fs) sum += f.get();
        bench::do_not_optimize(sum);
        if (rep >= 0) per_future.push_back(bench::ns_between(t0, t1) / static_cast<double>(n));
    }
    pool.join();
    bench::emit("wait_first", "asio", "wait(FIRST_COMPLETED) call", bench::median(per_future), "ns/future", "lower",
                n, "emulated: sweep wait_for(0s) until one is ready");
}
