// Then chain, Boost.Thread: 100,000 `future::then(launch::sync, ...)` links, each
// adding one, from make_ready_future; time per link. (launch::sync runs the
// continuation in place, as cfutures' then does; the default policy starts a thread.)
#define BOOST_THREAD_VERSION 5
#include <boost/thread/future.hpp>

#include <stdexcept>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t links = args.n(100'000, 10'000);
    const double ns = bench::median_ns_per_op(links, args.quick ? 1 : 5, [&] {
        boost::future<int> f = boost::make_ready_future(0);
        for (std::size_t i = 0; i < links; ++i) {
            f = f.then(boost::launch::sync, [](boost::future<int> done) { return done.get() + 1; });
        }
        if (f.get() != static_cast<int>(links)) throw std::logic_error("wrong chain result");
    });
    bench::emit("then_chain", "boost.thread", "per link", ns, "ns", "lower", links);
}
