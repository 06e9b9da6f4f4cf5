// Throughput, cfutures: submit N calls returning an int to a 2-worker
// ThreadPoolExecutor, then result() each; also the submit phase alone.
#include <cfutures/cfutures.hpp>

#include <vector>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(1'000'000, 20'000);
    const int reps = args.quick ? 1 : 3;

    cf::ThreadPoolExecutor ex(bench::kWorkers);
    std::vector<cf::Future<int>> fs;
    fs.reserve(n);
    std::vector<double> total, submit;
    for (int rep = -1; rep < reps; ++rep) {  // rep -1 warms up
        fs.clear();
        const auto t0 = bench::Clock::now();
        for (std::size_t i = 0; i < n; ++i) fs.push_back(ex.submit([i] { return static_cast<int>(i & 0xff); }));
        const auto t1 = bench::Clock::now();
        long sum = 0;
        for (const auto& f : fs) sum += f.result();
        const auto t2 = bench::Clock::now();
        bench::do_not_optimize(sum);
        if (rep < 0) continue;
        submit.push_back(static_cast<double>(n) / (bench::ns_between(t0, t1) * 1e-9));
        total.push_back(static_cast<double>(n) / (bench::ns_between(t0, t2) * 1e-9));
    }
    bench::emit("throughput", "cfutures", "submit+result", bench::median(total), "tasks/s", "higher", n);
    bench::emit("throughput", "cfutures", "submit phase", bench::median(submit), "tasks/s", "higher", n);
}
