// Fan-out/fan-in, std::async(std::launch::async): a thread per call, and an
// unjoined std::async thread keeps its stack mapped, so N calls cannot be in
// flight at once; they fan out and in by waves of 1,000 (get() in order, as
// std::future has no as_completed). Smaller N; the figure is a rate.
#include <future>
#include <vector>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(20'000, 2'000);
    constexpr std::size_t kWave = 1000;
    const int reps = args.quick ? 1 : 3;

    std::vector<double> rates;
    for (int rep = -1; rep < reps; ++rep) {
        long sum = 0;
        const auto t0 = bench::Clock::now();
        for (std::size_t base = 0; base < n; base += kWave) {
            std::vector<std::future<int>> fs;
            fs.reserve(kWave);
            for (std::size_t i = base; i < base + kWave && i < n; ++i)
                fs.push_back(std::async(std::launch::async, [i] { return static_cast<int>(i & 0xff); }));
            for (auto& f : fs) sum += f.get();
        }
        const auto t1 = bench::Clock::now();
        bench::do_not_optimize(sum);
        if (rep >= 0) rates.push_back(static_cast<double>(n) / (bench::ns_between(t0, t1) * 1e-9));
    }
    bench::emit("as_completed", "std::async", "fan-out+fan-in", bench::median(rates), "futures/s", "higher", n,
                "thread per call, waves of 1000, get() in order");
}
