// Process pool, cfutures: a 2-worker ProcessPoolExecutor (ForkServer, the
// default, as Python 3.14's) measured warm: round trip of one call (back to back, and
// after 1 ms idle, when the workers sleep); unchunked
// throughput (submit N calls returning an int, then result() each); map with
// chunksize 1000 over N ints; echo of a 1 KiB and a 1 MiB std::string.
// Workers are function pointers; arguments and results go through cereal.
#include <cfutures/cfutures.hpp>

#include <ranges>
#include <string>
#include <thread>
#include <vector>

#include "bench.hpp"

namespace {

int ident(int x) { return x; }
int low_byte(int x) { return x & 0xff; }
std::string echo(std::string s) { return s; }

constexpr const char* kWorkload = "process_pool";

void round_trips(cf::ProcessPoolExecutor& ex, const char* metric, std::size_t samples, const auto& call,
                 bool after_idle = false) {
    std::vector<double> ns;
    for (std::size_t i = 0; i < samples + samples / 10; ++i) {  // the first tenth warms up
        if (after_idle) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the workers sleep
        const auto t0 = bench::Clock::now();
        call(ex, i);
        const auto t1 = bench::Clock::now();
        if (i >= samples / 10) ns.push_back(bench::ns_between(t0, t1) / 1e3);
    }
    bench::emit(kWorkload, "cfutures", std::string(metric) + " median", bench::quantile(ns, 0.5), "us", "lower",
                samples);
    if (std::string_view(metric) == "round trip")
        bench::emit(kWorkload, "cfutures", std::string(metric) + " p99", bench::quantile(ns, 0.99), "us", "lower",
                    samples);
}

}  // namespace

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    cf::ProcessPoolExecutor ex(bench::kWorkers);  // ForkServer, the default
    {  // warm-up: both workers up and serving
        std::vector<cf::Future<int>> fs;
        for (int i = 0; i < 200; ++i) fs.push_back(ex.submit(&ident, i));
        for (auto& f : fs) f.result();
    }

    const auto one_call = [](cf::ProcessPoolExecutor& e, std::size_t i) {
        if (e.submit(&ident, static_cast<int>(i)).result() != static_cast<int>(i)) std::abort();
    };
    round_trips(ex, "round trip", args.n(5'000, 300), one_call);
    round_trips(ex, "round trip after 1 ms idle", args.n(1'000, 100), one_call, /*after_idle=*/true);

    {
        const std::size_t n = args.n(200'000, 5'000);
        std::vector<cf::Future<int>> fs;
        fs.reserve(n);
        const auto t0 = bench::Clock::now();
        for (std::size_t i = 0; i < n; ++i) fs.push_back(ex.submit(&low_byte, static_cast<int>(i)));
        long sum = 0;
        for (auto& f : fs) sum += f.result();
        const double s = bench::seconds_since(t0);
        bench::do_not_optimize(sum);
        bench::emit(kWorkload, "cfutures", "unchunked submit+result", static_cast<double>(n) / s, "tasks/s", "higher",
                    n);
    }

    {
        const std::size_t n = args.n(10'000'000, 200'000);
        const auto t0 = bench::Clock::now();
        long sum = 0;
        for (int v : ex.map(&low_byte, std::views::iota(0, static_cast<int>(n)), cf::MapOptions{.chunksize = 1000}))
            sum += v;
        const double s = bench::seconds_since(t0);
        bench::do_not_optimize(sum);
        bench::emit(kWorkload, "cfutures", "map chunksize=1000", static_cast<double>(n) / s, "items/s", "higher", n);
    }

    const std::string kib(1024, 'x');
    round_trips(ex, "echo 1 KiB", args.n(2'000, 200), [&kib](cf::ProcessPoolExecutor& e, std::size_t) {
        if (e.submit(&echo, kib).result().size() != kib.size()) std::abort();
    });
    const std::string mib(1 << 20, 'x');
    round_trips(ex, "echo 1 MiB", args.n(200, 20), [&mib](cf::ProcessPoolExecutor& e, std::size_t) {
        if (e.submit(&echo, mib).result().size() != mib.size()) std::abort();
    });
}
