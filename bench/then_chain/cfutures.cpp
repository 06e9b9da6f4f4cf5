// Then chain, cfutures: 100,000 `then` links, each adding one, from a ready
// future; time per link (each link is made, runs at once, and is freed).
#include <cfutures/cfutures.hpp>

#include <stdexcept>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t links = args.n(100'000, 10'000);
    const double ns = bench::median_ns_per_op(links, args.quick ? 1 : 5, [&] {
        cf::Future<int> f;
        f.set_result(0);
        for (std::size_t i = 0; i < links; ++i) f = f.then([](int v) { return v + 1; });
        if (f.result() != static_cast<int>(links)) throw std::logic_error("wrong chain result");
    });
    bench::emit("then_chain", "cfutures", "per link", ns, "ns", "lower", links);
}
