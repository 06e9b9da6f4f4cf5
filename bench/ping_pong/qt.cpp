// Ping-pong, Qt 6: 20,000 sequential QtConcurrent::run on a QThreadPool of 2
// threads -> QFuture::then -> result(); time per call. Qt's futures are not
// awaitable: the same figure stands against cfutures' co_await row.
#include <QtConcurrent/QtConcurrent>
#include <QtCore/QFuture>
#include <QtCore/QThreadPool>

#include <stdexcept>

#include "bench.hpp"

namespace {
int next(int v) { return v + 1; }
}  // namespace

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(20'000, 2'000);
    QThreadPool pool;
    pool.setMaxThreadCount(bench::kWorkers);
    const double ns = bench::median_ns_per_op(n, args.quick ? 1 : 5, [&] {
        int v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            v = QtConcurrent::run(&pool, next, v).then([](int r) { return r + 1; }).result();
        }
        if (v != static_cast<int>(2 * n)) throw std::logic_error("wrong ping-pong result");
    });
    bench::emit("ping_pong", "qt", "submit+then+result", ns, "ns/call", "lower", n);
    bench::emit("ping_pong", "qt", "co_await each submit", ns, "ns/call", "lower", n,
                "no coroutines: its submit+then+result");
}
