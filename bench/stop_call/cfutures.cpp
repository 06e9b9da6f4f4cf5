// Stopping calls, cfutures: a 2-worker ProcessPoolExecutor (ForkServer), warm.
//  - stop latency: a call that sleeps on (until it is stopped) runs; the clock
//    starts at request_stop() and stops when a following call's result is back.
//    "pool full": both workers run such a call, so the following call needs the
//    worker the stop frees (killed and replaced); "other worker idle": only one
//    does, so the following call may run on the other worker.
//  - timeout overshoot: a call that sleeps 1 s, given CallOptions{.timeout = 100ms};
//    the time from submit until result() throws TimeoutError, minus 100 ms.
//  - throughput of trivial calls given a 10 s timeout, against the same calls given
//    none (submit N, then result() each): what a timeout costs a call that meets it.
// A call "runs" once it has created its marker file (the parent polls for it).
// `--executor thread` runs the same on a ThreadPoolExecutor(2), whose sleepers take
// a std::stop_token (a thread cannot be killed): a check of the program, not a figure
// of the table (bench/run.sh does not run it).
#include <cfutures/cfutures.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "bench.hpp"

namespace {

using namespace std::chrono_literals;
constexpr const char* kWorkload = "stop_call";
constexpr auto kLongest = 60s;  // a "forever" call gives up after this: no orphan outlives a failed run by much

int ident(int x) { return x; }
int low_byte(int x) { return x & 0xff; }

void touch(const std::string& marker) { std::ofstream(marker).put('1'); }

// Process pool: the call cannot be told; it is killed.
int sleep_forever(std::string marker) {
    touch(marker);
    for (auto end = std::chrono::steady_clock::now() + kLongest; std::chrono::steady_clock::now() < end;)
        std::this_thread::sleep_for(1ms);
    return 0;
}
int sleep_ms(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
}

// Thread pool: the same calls, told through their token.
int sleep_forever_token(std::stop_token st, std::string marker) {
    touch(marker);
    for (auto end = std::chrono::steady_clock::now() + kLongest;
         !st.stop_requested() && std::chrono::steady_clock::now() < end;)
        std::this_thread::sleep_for(1ms);
    return 0;
}
int sleep_ms_token(std::stop_token st, int ms) {
    for (auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
         !st.stop_requested() && std::chrono::steady_clock::now() < end;)
        std::this_thread::sleep_for(1ms);
    return ms;
}

/// Thrown when what is measured did not happen in time: the executor does not stop calls.
struct NotStopped {
    std::string what;
};

class Markers {
public:
    Markers() {
        char tmpl[] = "/tmp/cf-bench-stop-XXXXXX";
        if (!::mkdtemp(tmpl)) std::abort();
        dir_ = tmpl;
    }
    ~Markers() { remove(); }
    void remove() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::string next() { return dir_ + "/" + std::to_string(count_++); }
    /// Waits until the call given `marker` has begun.
    static void await(const std::string& marker) {
        const auto end = bench::Clock::now() + 10s;
        while (::access(marker.c_str(), F_OK) != 0) {
            if (bench::Clock::now() > end) throw NotStopped{"a call did not begin within 10 s"};
            std::this_thread::sleep_for(50us);
        }
    }

private:
    std::string dir_;
    int count_ = 0;
};

template <class Ex>
constexpr bool kThreads = std::is_same_v<Ex, cf::ThreadPoolExecutor>;

template <class Ex>
cf::Future<int> submit_blocker(Ex& ex, const std::string& marker) {
    if constexpr (kThreads<Ex>)
        return ex.submit(&sleep_forever_token, marker);
    else
        return ex.submit(&sleep_forever, marker);
}

template <class Ex>
cf::Future<int> submit_sleep(Ex& ex, cf::CallOptions options, int ms) {
    if constexpr (kThreads<Ex>)
        return ex.submit(options, &sleep_ms_token, ms);
    else
        return ex.submit(options, &sleep_ms, ms);
}

/// True when `f` is done within `timeout` (the wait itself throws no call's exception).
bool done_within(const cf::Future<int>& f, std::chrono::nanoseconds timeout) {
    try {
        (void)f.exception(timeout);
    } catch (const cf::CancelledError&) {
    } catch (const cf::TimeoutError&) {
        return false;
    }
    return true;
}

/// Both workers answer (a replaced one is up again) before the next sample.
template <class Ex>
void settle(Ex& ex) {
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(ex.submit(&ident, i));
    for (auto& f : fs) {
        if (!done_within(f, 10s)) throw NotStopped{"the pool did not answer within 10 s after a stop"};
        f.result();
    }
}

/// One sample: `held` calls sleep on (one per worker), the first is stopped, and the
/// clock runs until a following call's result is back. The other held calls are stopped after.
template <class Ex>
double stop_latency_us(Ex& ex, Markers& markers, int held) {
    std::vector<cf::Future<int>> blockers;
    for (int i = 0; i < held; ++i) {  // one at a time: each begins on a worker of its own
        const std::string marker = markers.next();
        blockers.push_back(submit_blocker(ex, marker));
        Markers::await(marker);
    }
    const auto t0 = bench::Clock::now();
    if (!blockers[0].request_stop()) throw NotStopped{"request_stop() of a running call returned false"};
    auto next = ex.submit(&ident, 7);
    const bool done = done_within(next, 5s);
    const auto t1 = bench::Clock::now();
    for (auto& b : blockers) b.request_stop();
    if (!done) {
        const bool after_all = done_within(next, 5s);  // once every held call is stopped?
        throw NotStopped{std::string("no result within 5 s of request_stop()") +
                         (after_all ? " (it came once the other held calls were stopped too)" : "")};
    }
    if (next.result() != 7) std::abort();
    settle(ex);
    return bench::ns_between(t0, t1) / 1e3;
}

/// One sample: how long after its 100 ms limit a 1 s call's future fails.
template <class Ex>
double overshoot_us(Ex& ex) {
    const auto t0 = bench::Clock::now();
    auto f = submit_sleep(ex, cf::CallOptions{.timeout = 100ms}, 1000);
    try {
        f.result();
        throw NotStopped{"a 1 s call given 100 ms returned its result: the timeout is not enforced"};
    } catch (const cf::TimeoutError&) {
    }
    const double us = bench::ns_between(t0, bench::Clock::now()) / 1e3 - 100'000.0;
    settle(ex);
    return us;
}

template <class Ex>
double throughput(Ex& ex, std::size_t n, bool timed) {
    std::vector<cf::Future<int>> fs;
    fs.reserve(n);
    const auto t0 = bench::Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
        fs.push_back(timed ? ex.submit(cf::CallOptions{.timeout = 10s}, &low_byte, static_cast<int>(i))
                           : ex.submit(&low_byte, static_cast<int>(i)));
    }
    long sum = 0;
    for (auto& f : fs) sum += f.result();
    bench::do_not_optimize(sum);
    return static_cast<double>(n) / bench::seconds_since(t0);
}

template <class Ex>
int run(Ex& ex, const bench::Args& args, std::string_view who) {
    settle(ex);  // warm-up: both workers up and serving
    int failures = 0;

    {  // throughput, timed and untimed runs interleaved: the machine's drift hits both alike
        const std::size_t n = args.n(200'000, 5'000);
        const int reps = args.quick ? 1 : 5;
        throughput(ex, n, true);
        throughput(ex, n, false);
        std::vector<double> timed, untimed;
        for (int r = 0; r < reps; ++r) {
            timed.push_back(throughput(ex, n, true));
            untimed.push_back(throughput(ex, n, false));
        }
        const double t = bench::median(timed), u = bench::median(untimed);
        const std::string note = "median of " + std::to_string(reps);
        bench::emit(kWorkload, who, "submit+result, 10 s timeout", t, "tasks/s", "higher", n, note);
        bench::emit(kWorkload, who, "submit+result, no timeout", u, "tasks/s", "higher", n, note);
        bench::emit(kWorkload, who, "throughput ratio, 10 s timeout / none", t / u, "x", "higher", n,
                    "target >= 0.8");
    }

    try {
        const std::size_t samples = args.n(20, 3);
        overshoot_us(ex);  // warm-up
        std::vector<double> us;
        for (std::size_t i = 0; i < samples; ++i) us.push_back(overshoot_us(ex));
        bench::emit(kWorkload, who, "timeout overshoot (100 ms limit), median", bench::quantile(us, 0.5), "us",
                    "lower", samples, "1 s call; time to TimeoutError from submit, minus 100 ms");
        bench::emit(kWorkload, who, "timeout overshoot (100 ms limit), max", bench::quantile(us, 1.0), "us",
                    "lower", samples);
    } catch (const NotStopped& e) {
        std::fprintf(stderr, "stop_call: timeout overshoot not measured: %s\n", e.what.c_str());
        ++failures;
    }

    Markers markers;
    for (int held : {bench::kWorkers, 1}) {
        const std::string metric = held == bench::kWorkers ? "request_stop -> next result, pool full"
                                                           : "request_stop -> next result, other worker idle";
        try {
            const std::size_t samples = args.n(20, 3);
            stop_latency_us(ex, markers, held);  // warm-up
            std::vector<double> us;
            for (std::size_t i = 0; i < samples; ++i) us.push_back(stop_latency_us(ex, markers, held));
            bench::emit(kWorkload, who, metric + ", median", bench::quantile(us, 0.5), "us", "lower", samples,
                        held == bench::kWorkers ? "both workers held: the next call needs the stopped one's"
                                                : "one worker held");
        } catch (const NotStopped& e) {
            std::fprintf(stderr, "stop_call: %s not measured: %s\n", metric.c_str(), e.what.c_str());
            ++failures;
        }
    }
    if (failures) {
        // Calls may still hold workers (until kLongest): leave without the destructor's wait
        // (the workers die with this process).
        markers.remove();
        std::fflush(stdout);
        std::_Exit(EXIT_FAILURE);
    }
    return EXIT_SUCCESS;
}

}  // namespace

int main(int argc, char** argv) {
    const bench::Args args(argc, argv);
    bool threads = false;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string_view(argv[i]) == "--executor") threads = std::string_view(argv[i + 1]) == "thread";
    if (threads) {
        cf::ThreadPoolExecutor ex(bench::kWorkers);
        return run(ex, args, "cfutures-thread");
    }
    cf::ProcessPoolExecutor ex(bench::kWorkers);  // ForkServer, the default
    return run(ex, args, "cfutures");
}
