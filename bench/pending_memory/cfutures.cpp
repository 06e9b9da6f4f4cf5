// Bytes per pending future, cfutures: both workers of a 2-worker
// ThreadPoolExecutor are held by a gate, then N calls of a small lambda
// (an int and a pointer captured: 16 bytes) are submitted and stay queued.
// Figures per future: live heap bytes (global operator new counted) and RSS
// growth. The vector holding the handles is allocated and touched before the
// baseline, so neither figure counts it.
#include <cfutures/cfutures.hpp>

#include <cstring>
#include <vector>

#include "bench.hpp"
#include "count_new.hpp"

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    const std::size_t n = args.n(1'000'000, 50'000);

    cf::ThreadPoolExecutor ex(bench::kWorkers);
    bench::Gate gate;
    auto held1 = ex.submit([&gate] { gate.wait(); });
    auto held2 = ex.submit([&gate] { gate.wait(); });
    gate.await_entered(bench::kWorkers);

    std::vector<cf::Future<int>> fs;
    fs.reserve(n);
    std::memset(static_cast<void*>(fs.data()), 0, n * sizeof(cf::Future<int>));
    const int base = 7;
    const int* p = &base;

    const long long heap0 = bench::live_heap_bytes();
    const std::size_t rss0 = bench::status_bytes("VmRSS");
    for (std::size_t i = 0; i < n; ++i) fs.push_back(ex.submit([i, p] { return *p + static_cast<int>(i & 0xff); }));
    const long long heap1 = bench::live_heap_bytes();
    const std::size_t rss1 = bench::status_bytes("VmRSS");

    gate.open();
    long sum = 0;
    for (const auto& f : fs) sum += f.result();
    bench::do_not_optimize(sum);
    held1.result();
    held2.result();
    const auto dn = static_cast<double>(n);
    bench::emit("pending_memory", "cfutures", "heap per pending future", static_cast<double>(heap1 - heap0) / dn,
                "bytes", "lower", n);
    bench::emit("pending_memory", "cfutures", "RSS per pending future", static_cast<double>(rss1 - rss0) / dn, "bytes",
                "lower", n);
}
