// The primes example, cfutures: Python's documentation example (the seed's
// examples/primes.cpp) as a whole: create a 2-worker ProcessPoolExecutor
// (ForkServer), executor.map(&is_prime, PRIMES), take the results, shut down.
// Wall time of the whole with-block; the median of several runs.
#include <cfutures/cfutures.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "bench.hpp"

namespace {

const std::vector<std::int64_t> PRIMES = {
    112272535095293, 112582705942171, 112272535095293, 115280095190773, 115797848077099, 1099726899285419,
};

bool is_prime(std::int64_t n) {
    if (n < 2) return false;
    if (n == 2) return true;
    if (n % 2 == 0) return false;
    const auto sqrt_n = static_cast<std::int64_t>(std::floor(std::sqrt(static_cast<double>(n))));
    for (std::int64_t i = 3; i <= sqrt_n; i += 2) {
        if (n % i == 0) return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const int reps = args.quick ? 1 : 5;
    std::vector<double> secs;
    for (int rep = 0; rep < reps; ++rep) {
        const auto t0 = bench::Clock::now();
        int found = 0;
        {
            cf::ProcessPoolExecutor executor(bench::kWorkers);  // ForkServer, the default
            for (bool prime : executor.map(&is_prime, PRIMES)) found += prime;
        }
        secs.push_back(bench::seconds_since(t0));
        if (found != 5) return 1;
    }
    bench::emit("primes", "cfutures", "whole example", bench::median(secs), "s", "lower", static_cast<std::size_t>(reps),
                "pool start + map + shutdown");
}
