// Fan-out/fan-in, cfutures: 100,000 submits to a 2-worker ThreadPoolExecutor,
// then when_all over their futures and wait for it; time per call.
#include <cfutures/cfutures.hpp>

#include <stdexcept>
#include <vector>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(100'000, 10'000);
    cf::ThreadPoolExecutor ex(bench::kWorkers);
    const double ns = bench::median_ns_per_op(n, args.quick ? 1 : 5, [&] {
        std::vector<cf::Future<int>> fs;
        fs.reserve(n);
        for (std::size_t i = 0; i < n; ++i) fs.push_back(ex.submit([i] { return static_cast<int>(i & 1); }));
        const auto all = cf::when_all(fs);
        const auto& done = all.result();  // a reference into `all`'s state
        if (done.size() != n || done.back().result() != static_cast<int>((n - 1) & 1))
            throw std::logic_error("wrong when_all result");
    });
    bench::emit("fan_in", "cfutures", "submit+when_all", ns, "ns/call", "lower", n);
}
