// Ping-pong, cfutures: 20,000 sequential submit -> then -> result() on a 2-worker
// ThreadPoolExecutor, and the same with a coroutine that co_awaits each submit
// (it resumes in the worker that finished the call, which submits the next); time per call.
#include <cfutures/cfutures.hpp>

#include <stdexcept>

#include "bench.hpp"

namespace {
int next(int v) { return v + 1; }

cf::Future<int> await_each(cf::ThreadPoolExecutor& ex, std::size_t n) {
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) v = co_await ex.submit(next, v);
    co_return v;
}
}  // namespace

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(20'000, 2'000);
    const int reps = args.quick ? 1 : 5;
    cf::ThreadPoolExecutor ex(bench::kWorkers);
    const double then_ns = bench::median_ns_per_op(n, reps, [&] {
        int v = 0;
        for (std::size_t i = 0; i < n; ++i) v = ex.submit(next, v).then([](int r) { return r + 1; }).result();
        if (v != static_cast<int>(2 * n)) throw std::logic_error("wrong ping-pong result");
    });
    const double co_ns = bench::median_ns_per_op(n, reps, [&] {
        if (await_each(ex, n).result() != static_cast<int>(n)) throw std::logic_error("wrong co_await result");
    });
    bench::emit("ping_pong", "cfutures", "submit+then+result", then_ns, "ns/call", "lower", n);
    bench::emit("ping_pong", "cfutures", "co_await each submit", co_ns, "ns/call", "lower", n,
                "peers have no coroutines: their figure is their submit+then+result");
}
