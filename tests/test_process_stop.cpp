// API.md, "Beyond Python: stopping calls", on the process pool, under every start
// method: a call's timeout and request_stop() kill and replace exactly the worker
// running it, the pool is not broken, and the calls handed to that worker behind it
// run on another worker, once.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>

#include "process_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using cf_test::kAllStartMethods;
using cf_test::StartMethodName;

/// Sleeps `ms` milliseconds in a worker, then returns n.
int sleep_then(int ms, int n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return n;
}

int identity(int n) { return n; }

/// Appends "n\n" to `log` (O_APPEND: whole lines from any worker), returns n: which
/// calls ran, and how often.
int logged(std::string log, int n) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    const std::string line = std::to_string(n) + "\n";
    if (fd >= 0) {
        [[maybe_unused]] const auto w = ::write(fd, line.data(), line.size());
        ::close(fd);
    }
    return n;
}

/// How many times each n was logged.
std::map<int, int> runs_in(const std::string& log) {
    std::map<int, int> runs;
    std::ifstream in(log);
    for (int n; in >> n;) ++runs[n];
    return runs;
}

/// Each of `behind` (call i logged i) returned its own number, and each ran exactly once.
void expect_each_ran_once(std::vector<cf::Future<int>>& behind, const std::string& log) {
    for (std::size_t i = 0; i < behind.size(); ++i) EXPECT_EQ(behind[i].result(cf_test::kWorkerWait), static_cast<int>(i));
    const auto runs = runs_in(log);
    EXPECT_EQ(runs.size(), behind.size());
    for (const auto& [n, count] : runs) EXPECT_EQ(count, 1) << "call " << n << " ran " << count << " times";
}

/// Opens the pool's call window: after many quick calls it ships hundreds of calls to a
/// worker at once, so that calls wait on the worker behind a slow one.
void warm_up(cf::ProcessPoolExecutor& ex) {
    std::vector<int> xs(4000);
    for (int v : ex.map(&identity, xs)) (void)v;
}

class ProcessStopTest : public cf_test::StartMethodTest {};

}  // namespace

TEST_P(ProcessStopTest, a_timeout_kills_and_replaces_the_worker_and_the_pool_lives_on) {
    cf::ProcessPoolExecutor ex(options(2));
    EXPECT_EQ(ex.submit(&identity, 1).result(), 1);
    const auto before = ex.worker_pids();
    auto f = ex.submit(cf::CallOptions{.timeout = 300ms}, &sleep_then, 60'000, 1);
    try {
        f.result(cf_test::kWorkerWait);
        ADD_FAILURE() << "no TimeoutError";
    } catch (const cf::TimeoutError& e) {
        EXPECT_NE(std::string(e.what()).find("the call ran longer than its limit of 300 ms"), std::string::npos)
            << e.what();
    }
    std::vector<cf::Future<int>> after;
    for (int i = 0; i < 20; ++i) after.push_back(ex.submit(&identity, i));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(after[static_cast<std::size_t>(i)].result(), i);
    // Exactly one worker was replaced.
    const auto now = ex.worker_pids();
    int kept = 0;
    for (pid_t pid : before) kept += static_cast<int>(std::count(now.begin(), now.end(), pid));
    EXPECT_EQ(kept, static_cast<int>(before.size()) - 1);
}

TEST_P(ProcessStopTest, a_call_that_ends_in_time_keeps_its_result_and_its_worker) {
    cf::ProcessPoolExecutor ex(options(2));
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 300; ++i) fs.push_back(ex.submit(cf::CallOptions{.timeout = 10s}, &identity, i));
    for (int i = 0; i < 300; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(), i);
    EXPECT_EQ(ex.submit(cf::CallOptions{.timeout = 10s}, &sleep_then, 100, 5).result(), 5);
}

TEST_P(ProcessStopTest, request_stop_of_a_running_call_cancels_it_and_kills_only_its_worker) {
    cf::ProcessPoolExecutor ex(options(2));
    EXPECT_EQ(ex.submit(&identity, 1).result(), 1);
    auto f = ex.submit(&sleep_then, 60'000, 1);
    std::this_thread::sleep_for(300ms);  // begun in its worker
    ASSERT_TRUE(f.running());
    EXPECT_TRUE(f.request_stop());
    EXPECT_TRUE(f.cancelled());  // when request_stop() returns
    EXPECT_THROW(f.result(), cf::CancelledError);
    EXPECT_EQ(ex.submit(&identity, 7).result(cf_test::kWorkerWait), 7);
    EXPECT_EQ(ex.submit(&sleep_then, 10, 8).result(cf_test::kWorkerWait), 8);
    cf::AnyFuture any = f;
    EXPECT_TRUE(any.request_stop());  // cancelled already: as cancel()
}

TEST_P(ProcessStopTest, with_every_worker_busy_a_stopped_call_frees_a_worker_for_the_next_call) {
    cf::ProcessPoolExecutor ex(options(2));
    auto a = ex.submit(&sleep_then, 600'000, 1);
    auto b = ex.submit(&sleep_then, 600'000, 2);
    std::this_thread::sleep_for(300ms);  // both have begun
    EXPECT_TRUE(a.request_stop());
    // The replacement takes the next calls; none waits behind b.
    for (int i = 0; i < 4; ++i) EXPECT_EQ(ex.submit(&identity, i).result(cf_test::kWorkerWait), i);
    EXPECT_TRUE(b.request_stop());
}

TEST_P(ProcessStopTest, calls_queued_behind_a_stopped_call_on_its_worker_run_elsewhere_once) {
    cf_test::TempDir dir;
    const std::string log = dir.path() + "/runs";
    cf::ProcessPoolExecutor ex(options(1));
    warm_up(ex);
    // With a timeout, the call goes through the manager and the worker's socket (never
    // its express lane), so that calls can be handed to the worker behind it.
    auto slow = ex.submit(cf::CallOptions{.timeout = 600s}, &sleep_then, 60'000, -1);
    std::vector<cf::Future<int>> behind;
    for (int i = 0; i < 100; ++i) behind.push_back(ex.submit(&logged, log, i));
    std::this_thread::sleep_for(200ms);  // the slow call has begun; the others wait on its worker
    int handed = 0;
    for (auto& f : behind) handed += f.running() ? 1 : 0;
    EXPECT_GE(handed, 1);  // handed to the one worker already (RUNNING), not begun
    EXPECT_TRUE(slow.request_stop());
    expect_each_ran_once(behind, log);
}

// The same with the call window wide open: a stream of quick calls keeps replies coming,
// so the manager hands the slow call and the calls after it to the one worker at once
// (typically all 300 behind it; the count is recorded, not asserted: it is the window's).
TEST_P(ProcessStopTest, with_a_wide_call_window_hundreds_of_calls_behind_a_stopped_one_run_once) {
    cf_test::TempDir dir;
    const std::string log = dir.path() + "/runs";
    cf::ProcessPoolExecutor ex(options(1));
    std::vector<cf::Future<int>> stream;
    for (int i = 0; i < 3000; ++i) stream.push_back(ex.submit(&identity, i));
    stream[1500].result(cf_test::kWorkerWait);  // replies flowing: the window is open
    auto slow = ex.submit(cf::CallOptions{.timeout = 600s}, &sleep_then, 60'000, -1);
    std::vector<cf::Future<int>> behind;
    for (int i = 0; i < 300; ++i) behind.push_back(ex.submit(&logged, log, i));
    std::this_thread::sleep_for(300ms);
    int handed = 0;
    for (auto& f : behind) handed += f.running() ? 1 : 0;
    RecordProperty("handed_behind_the_stopped_call", handed);
    EXPECT_TRUE(slow.request_stop());
    expect_each_ran_once(behind, log);
}

TEST_P(ProcessStopTest, a_call_handed_to_a_worker_but_not_begun_is_skipped_without_a_kill) {
    cf_test::TempDir dir;
    const std::string log = dir.path() + "/runs";
    cf::ProcessPoolExecutor ex(options(1));
    warm_up(ex);
    const auto pids = ex.worker_pids();
    auto slow = ex.submit(cf::CallOptions{.timeout = 600s}, &sleep_then, 500, -1);  // not in the lane
    std::this_thread::sleep_for(50ms);
    auto skipped = ex.submit(&logged, log, 1);
    auto after = ex.submit(&logged, log, 2);
    // Handed to the worker behind the slow call (a worker takes two calls at least).
    const auto until = std::chrono::steady_clock::now() + cf_test::kWorkerWait;
    while (!skipped.running() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(skipped.running());
    EXPECT_TRUE(skipped.request_stop());
    EXPECT_TRUE(skipped.cancelled());
    EXPECT_EQ(slow.result(), -1);
    EXPECT_EQ(after.result(), 2);
    EXPECT_EQ(ex.worker_pids(), pids);  // the worker was not killed
    const auto runs = runs_in(log);
    EXPECT_EQ(runs.count(1), 0u);  // skipped
    EXPECT_EQ(runs.count(2), 1u);
}

TEST_P(ProcessStopTest, request_stop_of_a_call_in_the_express_lane) {
    cf::ProcessPoolExecutor ex(options(1));
    EXPECT_EQ(ex.submit(&identity, 1).result(), 1);
    std::this_thread::sleep_for(100ms);  // the worker is idle: its lane is offered
    auto f = ex.submit(&sleep_then, 60'000, 1);
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(f.request_stop());
    EXPECT_TRUE(f.cancelled());
    EXPECT_EQ(ex.submit(&identity, 3).result(cf_test::kWorkerWait), 3);
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(ex.submit(&identity, 4).result(cf_test::kWorkerWait), 4);  // through the new worker's lane
}

TEST_P(ProcessStopTest, map_call_timeout_fails_only_the_slow_position) {
    cf::ProcessPoolExecutor ex(options(2));
    std::vector<int> ms{0, 60'000, 0, 0};
    std::vector<int> ns{0, 1, 2, 3};
    auto r = ex.map(&sleep_then, ms, ns, cf::MapOptions{.call_timeout = 300ms});
    std::vector<int> got;
    int timeouts = 0;
    for (auto it = r.begin(); it != r.end(); ++it) {
        try {
            got.push_back(*it);
        } catch (const cf::TimeoutError&) {
            ++timeouts;
        }
    }
    EXPECT_EQ(got, (std::vector<int>{0, 2, 3}));
    EXPECT_EQ(timeouts, 1);
}

TEST_P(ProcessStopTest, a_chunk_may_run_its_length_times_the_call_timeout) {
    cf::ProcessPoolExecutor ex(options(1));
    std::vector<int> ms{150, 150, 150, 150};  // 600 ms in all, each well under 400 ms
    std::vector<int> ns{0, 1, 2, 3};
    std::vector<int> got;
    for (int v : ex.map(&sleep_then, ms, ns, cf::MapOptions{.chunksize = 4, .call_timeout = 400ms})) got.push_back(v);
    EXPECT_EQ(got, ns);
}

TEST_P(ProcessStopTest, a_chunk_past_its_limit_fails_every_call_it_has_not_answered) {
    cf::ProcessPoolExecutor ex(options(1));
    std::vector<int> ms{0, 60'000, 0, 0};  // the first chunk hangs on its second call
    std::vector<int> ns{0, 1, 2, 3};
    auto r = ex.map(&sleep_then, ms, ns, cf::MapOptions{.chunksize = 2, .call_timeout = 200ms});
    std::vector<int> got;
    int timeouts = 0;
    for (auto it = r.begin(); it != r.end(); ++it) {
        try {
            got.push_back(*it);
        } catch (const cf::TimeoutError&) {
            ++timeouts;
        }
    }
    EXPECT_EQ(timeouts, 2);  // a chunk's reply comes whole: neither of its calls was answered
    EXPECT_EQ(got, (std::vector<int>{2, 3}));
}

TEST_P(ProcessStopTest, a_timeout_not_greater_than_zero_is_refused) {
    cf::ProcessPoolExecutor ex(options(1));
    EXPECT_THROW(ex.submit(cf::CallOptions{.timeout = 0s}, &identity, 1), std::invalid_argument);
    std::vector<int> xs{1};
    EXPECT_THROW((void)ex.map(&identity, xs, cf::MapOptions{.call_timeout = -5ms}), std::invalid_argument);
}

// request_stop, cancel, timeouts and completions racing: every future ends exactly once.
TEST_P(ProcessStopTest, every_future_ends_once_whatever_races) {
    cf::ProcessPoolExecutor ex(options(2));
    warm_up(ex);
    std::atomic<int> fired{0};
    std::vector<cf::Future<int>> fs;
    constexpr int kCalls = 300;
    for (int i = 0; i < kCalls; ++i) {
        cf::Future<int> f = i % 7 == 0   ? ex.submit(cf::CallOptions{.timeout = 20ms}, &sleep_then, i % 14 ? 100 : 1, i)
                            : i % 11 == 0 ? ex.submit(&sleep_then, 50, i)
                                          : ex.submit(&identity, i);
        f.add_done_callback([&fired](const cf::Future<int>&) { ++fired; });
        fs.push_back(f);
        if (i % 5 == 0) f.request_stop();
        if (i % 13 == 0) f.cancel();
    }
    for (auto& f : fs) {
        try {
            f.result(cf_test::kWorkerWait);
        } catch (const cf::CancelledError&) {
        } catch (const cf::TimeoutError&) {
        }
        EXPECT_TRUE(f.done());
    }
    ex.shutdown(true);
    EXPECT_EQ(fired.load(), kCalls);
}

// Stops racing a worker's death and shutdown(cancel_futures): every future ends exactly
// once, and nothing hangs.
TEST_P(ProcessStopTest, stops_racing_a_worker_death_and_shutdown_end_every_future_once) {
    std::atomic<int> fired{0};
    std::vector<cf::Future<int>> fs;
    constexpr int kCalls = 200;
    {
        cf::ProcessPoolExecutor ex(options(2));
        for (int i = 0; i < kCalls; ++i) {
            cf::Future<int> f;
            try {
                f = i % 3 == 0 ? ex.submit(cf::CallOptions{.timeout = 5ms}, &sleep_then, 20, i)
                               : ex.submit(&sleep_then, i % 4 ? 0 : 5, i);
            } catch (const cf::BrokenProcessPool&) {
                break;  // the death was noticed: later submits are refused
            }
            f.add_done_callback([&fired](const cf::Future<int>&) { ++fired; });
            fs.push_back(f);
            if (i % 5 == 0) f.request_stop();
            if (i == kCalls / 2) {
                const auto pids = ex.worker_pids();
                if (!pids.empty()) ::kill(pids.front(), SIGKILL);  // a real death: the pool breaks
            }
        }
        ex.shutdown(false, true);
    }
    for (auto& f : fs) EXPECT_TRUE(f.done());
    EXPECT_EQ(fired.load(), static_cast<int>(fs.size()));
}

INSTANTIATE_TEST_SUITE_P(StartMethod, ProcessStopTest, kAllStartMethods, StartMethodName{});

namespace {

int g_set_by_the_program = 0;

int read_what_the_program_set(int) { return g_set_by_the_program; }

/// The parent pid of process `pid`, from /proc/<pid>/stat; -1 if it cannot be read.
pid_t parent_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto end_of_name = stat.rfind(')');  // the name may hold spaces and parentheses
    if (end_of_name == std::string::npos) return -1;
    std::istringstream fields(stat.substr(end_of_name + 1));
    char state = 0;
    pid_t ppid = -1;
    fields >> state >> ppid;
    return ppid;
}

}  // namespace

// A Fork pool's replacement of a worker killed to stop a call is forked by the pool's
// zygote (launcher.hpp), never from the threaded program: it has the program as it was
// when the pool started, as the first workers do, and it is this process's child.
TEST(ForkReplacementTest, a_replacement_worker_has_the_program_as_the_first_workers_had_it) {
    g_set_by_the_program = 1;
    cf::ProcessPoolExecutor ex(cf::ProcessPoolOptions{.max_workers = 1,
                                                      .start_method = cf::StartMethod::Fork,
                                                      .initializer = {},
                                                      .max_tasks_per_child = std::nullopt});
    EXPECT_EQ(ex.submit(&read_what_the_program_set, 0).result(cf_test::kWorkerWait), 1);
    const auto first = ex.worker_pids();
    ASSERT_EQ(first.size(), 1u);
    g_set_by_the_program = 2;  // after the pool started: a worker forked now would see it
    auto slow = ex.submit(cf::CallOptions{.timeout = 200ms}, &sleep_then, 60'000, 1);
    EXPECT_THROW(slow.result(cf_test::kWorkerWait), cf::TimeoutError);
    EXPECT_EQ(ex.submit(&read_what_the_program_set, 0).result(cf_test::kWorkerWait), 1);
    const auto now = ex.worker_pids();
    ASSERT_EQ(now.size(), 1u);
    EXPECT_NE(now.front(), first.front()) << "the worker was not replaced";
    EXPECT_EQ(parent_of(now.front()), ::getpid()) << "the replacement is not this process's child";
}

namespace {

/// Leaks `mb` MiB, touched (so resident), and returns the worker's pid.
int leak_mb(int mb) {
    auto* p = new char[static_cast<std::size_t>(mb) << 20];
    for (std::size_t i = 0; i < (static_cast<std::size_t>(mb) << 20); i += 4096) p[i] = 1;
    static std::vector<char*> kept;  // reachable: a leak the program keeps, as a cache that only grows
    kept.push_back(p);
    return static_cast<int>(::getpid());
}

int worker_pid() { return static_cast<int>(::getpid()); }

class MaxMemoryTest : public cf_test::StartMethodTest {};

}  // namespace

TEST_P(MaxMemoryTest, a_worker_over_its_memory_limit_is_replaced_and_its_result_kept) {
    if (GetParam() == cf::StartMethod::Fork) {
        auto o = options(1);
        o.max_memory_per_child = 1u << 30;
        EXPECT_THROW(cf::ProcessPoolExecutor{o}, std::invalid_argument);
        return;
    }
    auto o = options(1);
    o.max_memory_per_child = std::size_t{150} << 20;
    cf::ProcessPoolExecutor ex(o);
    const int first = ex.submit(&worker_pid).result();
    auto leaking = ex.submit(&leak_mb, 200);
    std::vector<cf::Future<int>> behind;
    for (int i = 0; i < 20; ++i) behind.push_back(ex.submit(&identity, i));
    EXPECT_EQ(leaking.result(cf_test::kWorkerWait), first);  // its result is kept
    for (int i = 0; i < 20; ++i) EXPECT_EQ(behind[static_cast<std::size_t>(i)].result(cf_test::kWorkerWait), i);
    EXPECT_NE(ex.submit(&worker_pid).result(cf_test::kWorkerWait), first);  // replaced
}

TEST(MaxMemoryOptionTest, zero_is_refused) {
    auto o = cf_test::process_pool_options(cf::StartMethod::Spawn, 1);
    o.max_memory_per_child = 0;
    EXPECT_THROW(cf::ProcessPoolExecutor{o}, std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(StartMethod, MaxMemoryTest, kAllStartMethods, StartMethodName{});
