// Round trip, cfutures: submit one call to an idle 2-worker ThreadPoolExecutor
// and result() it, one at a time: back to back (20,000 samples after 2,000
// warm-up), and after 1 ms idle (2,000 samples), when the workers have parked.
#include <cfutures/cfutures.hpp>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    cf::ThreadPoolExecutor ex(bench::kWorkers);
    long sum = 0;
    bench::round_trip_figures("cfutures", args.quick, [&](std::size_t i) {
        sum += ex.submit([i] { return static_cast<int>(i & 1); }).result();
    });
    bench::do_not_optimize(sum);
}
