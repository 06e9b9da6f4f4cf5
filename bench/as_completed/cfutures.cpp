// Fan-out/fan-in, cfutures: submit N calls to a 2-worker ThreadPoolExecutor,
// then take every future from cf::as_completed and result() it.
#include <cfutures/cfutures.hpp>

#include <vector>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(100'000, 10'000);
    const int reps = args.quick ? 1 : 5;

    cf::ThreadPoolExecutor ex(bench::kWorkers);
    std::vector<double> rates;
    for (int rep = -1; rep < reps; ++rep) {
        std::vector<cf::Future<int>> fs;
        fs.reserve(n);
        const auto t0 = bench::Clock::now();
        for (std::size_t i = 0; i < n; ++i) fs.push_back(ex.submit([i] { return static_cast<int>(i & 0xff); }));
        long sum = 0;
        std::size_t seen = 0;
        for (cf::Future<int> f : cf::as_completed(fs)) {
            sum += f.result();
            ++seen;
        }
        const auto t1 = bench::Clock::now();
        bench::do_not_optimize(sum);
        if (seen != n) return 1;
        if (rep >= 0) rates.push_back(static_cast<double>(n) / (bench::ns_between(t0, t1) * 1e-9));
    }
    bench::emit("as_completed", "cfutures", "fan-out+fan-in", bench::median(rates), "futures/s", "higher", n);
}
