// A call that throws in a worker, cfutures: on a warm 2-worker ProcessPoolExecutor
// (ForkServer), the round trip of a call that throws std::runtime_error, taken
// back as the rebuilt exception, beside the round trip of the same call when it
// returns (measured in the same run, so the ratio is the cost of the throw: the
// exception, its traceback, the rebuilt exception and its nested RemoteTraceback).
#include <cfutures/cfutures.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "bench.hpp"

namespace {

int maybe_throw(int x) {
    if (x >= 0) throw std::runtime_error("no " + std::to_string(x));
    return x;
}

constexpr const char* kWorkload = "remote_throw";

template <class Call>
void median_round_trip(const char* metric, std::size_t samples, Call&& call) {
    std::vector<double> us;
    for (std::size_t i = 0; i < samples + samples / 10; ++i) {  // the first tenth warms up
        const auto t0 = bench::Clock::now();
        call(static_cast<int>(i));
        const auto t1 = bench::Clock::now();
        if (i >= samples / 10) us.push_back(bench::ns_between(t0, t1) / 1e3);
    }
    bench::emit(kWorkload, "cfutures", metric, bench::quantile(us, 0.5), "us", "lower", samples);
}

}  // namespace

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    cf::ProcessPoolExecutor ex(bench::kWorkers);  // ForkServer, the default
    for (int i = 0; i < 200; ++i) (void)ex.submit(&maybe_throw, -1 - i).result();  // both workers up
    const std::size_t n = args.n(5'000, 300);
    median_round_trip("round trip, returns", n, [&](int i) {
        if (ex.submit(&maybe_throw, -1 - i).result() != -1 - i) std::abort();
    });
    median_round_trip("round trip, throws", n, [&](int i) {
        try {
            (void)ex.submit(&maybe_throw, i).result();
            std::abort();
        } catch (const std::runtime_error& e) {
            bench::do_not_optimize(e.what()[0]);
        }
    });
}
