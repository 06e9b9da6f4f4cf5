// Fan-out/fan-in, Qt 6: 100,000 QtConcurrent::run calls on a QThreadPool of 2
// threads, then QtFuture::whenAll over their futures and wait; time per call.
#include <QtConcurrent/QtConcurrent>
#include <QtCore/QFuture>
#include <QtCore/QList>
#include <QtCore/QThreadPool>

#include <stdexcept>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(100'000, 10'000);
    QThreadPool pool;
    pool.setMaxThreadCount(bench::kWorkers);
    const double ns = bench::median_ns_per_op(n, args.quick ? 1 : 5, [&] {
        QList<QFuture<int>> fs;
        fs.reserve(static_cast<qsizetype>(n));
        for (std::size_t i = 0; i < n; ++i) fs.append(QtConcurrent::run(&pool, [i] { return static_cast<int>(i & 1); }));
        const QList<QFuture<int>> done = QtFuture::whenAll(fs.begin(), fs.end()).result();
        if (static_cast<std::size_t>(done.size()) != n || done.back().result() != static_cast<int>((n - 1) & 1))
            throw std::logic_error("wrong whenAll result");
    });
    bench::emit("fan_in", "qt", "submit+when_all", ns, "ns/call", "lower", n);
}
