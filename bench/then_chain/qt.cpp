// Then chain, Qt 6: 100,000 `QFuture::then` links (the default Launch::Sync, in
// place), each adding one, from QtFuture::makeReadyFuture; time per link.
#include <QtCore/QFuture>

#include <stdexcept>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t links = args.n(100'000, 10'000);
    const double ns = bench::median_ns_per_op(links, args.quick ? 1 : 5, [&] {
        QFuture<int> f = QtFuture::makeReadyFuture(0);
        for (std::size_t i = 0; i < links; ++i) f = f.then([](int v) { return v + 1; });
        if (f.result() != static_cast<int>(links)) throw std::logic_error("wrong chain result");
    });
    bench::emit("then_chain", "qt", "per link", ns, "ns", "lower", links);
}
