// What every C++ benchmark program shares: the command line (--quick), the
// JSON line each figure is printed as, clocks, percentiles, /proc/self/status
// readers and a gate that holds a pool's workers.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

/// The command line every program takes: `--quick` selects the smoke-test sizes.
struct Args {
    bool quick = false;
    Args(int argc, char** argv) {
        for (int i = 1; i < argc; ++i) {
            if (std::string_view(argv[i]) == "--quick") quick = true;
        }
    }
    /// `full` normally, `small` with --quick.
    [[nodiscard]] std::size_t n(std::size_t full, std::size_t small) const { return quick ? small : full; }
};

/// `text` as a JSON string literal.
inline std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

/// Prints one figure as a JSON line on stdout (what bench/report.py reads).
/// `better` is "higher" or "lower"; `n` how many calls or samples it rests on;
/// `note` what a reader needs to compare it.
inline void emit(std::string_view workload, std::string_view competitor, std::string_view metric, double value,
                 std::string_view unit, std::string_view better, std::size_t n = 0, std::string_view note = {}) {
    char number[32];
    std::snprintf(number, sizeof number, "%.6g", value);
    const std::string line = "{\"workload\": " + json_string(workload) + ", \"competitor\": " +
                             json_string(competitor) + ", \"metric\": " + json_string(metric) +
                             ", \"value\": " + number + ", \"unit\": " + json_string(unit) +
                             ", \"better\": " + json_string(better) + ", \"n\": " + std::to_string(n) +
                             ", \"note\": " + json_string(note) + "}\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

inline double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline double ns_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::nano>(b - a).count();
}

/// The median of `runs`: the figure reported when a measurement is repeated.
inline double median(std::vector<double> runs) {
    std::sort(runs.begin(), runs.end());
    const std::size_t m = runs.size() / 2;
    return runs.size() % 2 ? runs[m] : (runs[m - 1] + runs[m]) / 2;
}

/// The q-quantile (0..1) of `samples`, nearest rank.
inline double quantile(std::vector<double> samples, double q) {
    std::sort(samples.begin(), samples.end());
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1) + 0.5);
    return samples[std::min(rank, samples.size() - 1)];
}

/// Times `call(i)` one call at a time: `warmup` untimed calls, then `samples` timed ones (ns),
/// each after sleeping `gap` (zero: back to back) so that a pool's workers can go idle.
template <class F>
std::vector<double> time_calls(std::size_t warmup, std::size_t samples, std::chrono::microseconds gap, F&& call) {
    std::vector<double> ns;
    ns.reserve(samples);
    for (std::size_t i = 0; i < warmup + samples; ++i) {
        if (gap.count() > 0) std::this_thread::sleep_for(gap);
        const auto t0 = Clock::now();
        call(i);
        const auto t1 = Clock::now();
        if (i >= warmup) ns.push_back(ns_between(t0, t1));
    }
    return ns;
}

/// The round_trip workload's figures: back to back, and after 1 ms idle.
template <class F>
void round_trip_figures(std::string_view competitor, bool quick, F&& call, std::string_view note = {}) {
    using namespace std::chrono_literals;
    const std::size_t samples = quick ? 2'000 : 20'000;
    const auto hot = time_calls(samples / 10, samples, 0us, call);
    emit("round_trip", competitor, "median", quantile(hot, 0.5), "ns", "lower", samples, note);
    emit("round_trip", competitor, "p99", quantile(hot, 0.99), "ns", "lower", samples);
    const std::size_t idle_samples = quick ? 100 : 2'000;
    const auto idle = time_calls(idle_samples / 10, idle_samples, 1000us, call);
    emit("round_trip", competitor, "median after 1 ms idle", quantile(idle, 0.5), "ns", "lower", idle_samples);
    emit("round_trip", competitor, "p99 after 1 ms idle", quantile(idle, 0.99), "ns", "lower", idle_samples);
}

/// Runs `run()` (which does `n` operations) once to warm up, then `reps` times timed;
/// returns the median time per operation in ns.
template <class F>
double median_ns_per_op(std::size_t n, int reps, F&& run) {
    run();
    std::vector<double> per_op;
    for (int rep = 0; rep < reps; ++rep) {
        const auto t0 = Clock::now();
        run();
        per_op.push_back(ns_between(t0, Clock::now()) / static_cast<double>(n));
    }
    return median(per_op);
}

/// A field of /proc/self/status in bytes (VmRSS, VmHWM, ...), 0 if absent.
inline std::size_t status_bytes(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::size_t len = std::strlen(field);
    while (std::getline(in, line)) {
        if (line.compare(0, len, field) == 0 && line.size() > len && line[len] == ':') {
            return std::strtoull(line.c_str() + len + 1, nullptr, 10) * 1024;
        }
    }
    return 0;
}

/// Keeps a value alive in the optimizer's eyes.
template <class T>
inline void do_not_optimize(const T& value) {
    asm volatile("" : : "r,m"(value) : "memory");
}

/// Holds the workers of a pool: tasks that call wait() block until open().
class Gate {
public:
    void wait() {
        entered_.fetch_add(1);
        entered_.notify_all();
        while (!open_.load()) open_.wait(false);
    }
    /// Blocks until `n` tasks are inside wait(): the pool's workers are all held.
    void await_entered(int n) {
        for (int e = entered_.load(); e < n; e = entered_.load()) entered_.wait(e);
    }
    void open() {
        open_.store(true);
        open_.notify_all();
    }

private:
    std::atomic<bool> open_{false};
    std::atomic<int> entered_{0};
};

/// As Gate, but the held task spins instead of sleeping, so that it finishes
/// within nanoseconds of open(): no wake-up latency in what is measured.
class SpinGate {
public:
    void wait() {
        entered_.fetch_add(1);
        entered_.notify_all();
        while (!open_.load(std::memory_order_acquire)) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
    }
    void await_entered(int n) {
        for (int e = entered_.load(); e < n; e = entered_.load()) entered_.wait(e);
    }
    void open() { open_.store(true, std::memory_order_release); }

private:
    std::atomic<bool> open_{false};
    std::atomic<int> entered_{0};
};

/// Every pool in the suite has this many workers.
inline constexpr int kWorkers = 2;

}  // namespace bench
