// cfutures::mpi::MPIPoolExecutor on the workloads of bench/mpi/mpi4py_futures.py:
//   mpi_round_trip   submit(identity, i).result(), one call at a time   (median, p99; ns, lower)
//   mpi_throughput   submit N small calls, then result() each           (calls/s, higher)
//   mpi_map_chunked  map(square, 1,000,000 ints, chunksize=1000)        (items/s, higher)
// Workers are spawned (dynamic mode), --workers of them (default 2), as mpi4py's
// MPIPoolExecutor(max_workers=...) does. Each figure is one JSON line on stdout:
//   {"workload", "competitor", "metric", "value", "unit", "better", "n", "note"}
// Usage: bench_mpi_cfutures [--quick] [--workers N]
#include <cfutures/mpi.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

long identity(long x) { return x; }
long square(long x) { return x * x; }

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

void emit(std::string_view workload, std::string_view metric, double value, std::string_view unit,
          std::string_view better, std::size_t n, std::string_view note = {}) {
    std::printf(
        "{\"workload\": %s, \"competitor\": \"cfutures\", \"metric\": %s, \"value\": %.6g, \"unit\": %s, "
        "\"better\": %s, \"n\": %zu, \"note\": %s}\n",
        json_string(workload).c_str(), json_string(metric).c_str(), value, json_string(unit).c_str(),
        json_string(better).c_str(), n, json_string(note).c_str());
    std::fflush(stdout);
}

double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(rank, v.size() - 1)];
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    int workers = 2;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--quick") quick = true;
        if (arg == "--workers" && i + 1 < argc) workers = std::atoi(argv[++i]);
    }
    const std::string note = std::to_string(workers) + " spawned workers";

    // MPI's own start (a singleton's daemon), timed apart: mpi4py does it when
    // mpi4py.MPI is imported, before its executor exists. The program that starts MPI
    // ends it (the library finalises only what it started).
    const auto t_init = Clock::now();
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) return 1;
    std::atexit([] { MPI_Finalize(); });
    emit("mpi_startup", "MPI init", seconds_since(t_init), "s", "lower", 1, note);

    const auto t_spawn = Clock::now();
    cf::mpi::MPIPoolExecutor ex(cf::mpi::MPIPoolOptions{.max_workers = workers});
    // Every worker has answered once before anything is timed.
    std::vector<cf::Future<long>> warm;
    for (int i = 0; i < 4 * workers; ++i) warm.push_back(ex.submit(&identity, long{i}));
    for (auto& f : warm) (void)f.result();
    emit("mpi_startup", "spawn and first replies", seconds_since(t_spawn), "s", "lower", 1, note);

    {  // round trip
        const std::size_t samples = quick ? 2'000 : 20'000;
        const std::size_t warmup = samples / 10;
        std::vector<double> ns;
        ns.reserve(samples);
        for (std::size_t i = 0; i < warmup + samples; ++i) {
            const auto t0 = Clock::now();
            const long v = ex.submit(&identity, static_cast<long>(i)).result();
            const auto t1 = Clock::now();
            if (v != static_cast<long>(i)) return 1;
            if (i >= warmup) ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
        }
        emit("mpi_round_trip", "median", quantile(ns, 0.5), "ns", "lower", samples, note);
        emit("mpi_round_trip", "p99", quantile(ns, 0.99), "ns", "lower", samples);
    }

    {  // unchunked throughput
        const std::size_t n = quick ? 10'000 : 100'000;
        const auto t0 = Clock::now();
        std::vector<cf::Future<long>> fs;
        fs.reserve(n);
        for (std::size_t i = 0; i < n; ++i) fs.push_back(ex.submit(&square, static_cast<long>(i)));
        long sum = 0;
        for (auto& f : fs) sum += f.result();
        const double s = seconds_since(t0);
        if (sum == 0) return 1;
        emit("mpi_throughput", "calls per second", static_cast<double>(n) / s, "calls/s", "higher", n, note);
    }

    {  // map with chunksize 1000
        const std::size_t n = quick ? 200'000 : 1'000'000;
        std::vector<long> in(n);
        std::iota(in.begin(), in.end(), 0L);
        const auto t0 = Clock::now();
        long sum = 0;
        std::size_t count = 0;
        for (long v : ex.map(&square, in, cf::MapOptions{.chunksize = 1000})) {
            sum += v;
            ++count;
        }
        const double s = seconds_since(t0);
        if (count != n || sum == 0) return 1;
        emit("mpi_map_chunked", "items per second", static_cast<double>(n) / s, "items/s", "higher", n,
             note + ", chunksize 1000");
    }
    return 0;
}
