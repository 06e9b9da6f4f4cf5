// Round trip, std::async(std::launch::async): one call, get(); each call
// starts (and joins) a thread, which is what std::async does in libstdc++.
// Back to back, and after 1 ms idle.
#include <future>

#include "bench.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    long sum = 0;
    bench::round_trip_figures(
        "std::async", args.quick,
        [&](std::size_t i) { sum += std::async(std::launch::async, [i] { return static_cast<int>(i & 1); }).get(); },
        "a thread per call");
    bench::do_not_optimize(sum);
}
