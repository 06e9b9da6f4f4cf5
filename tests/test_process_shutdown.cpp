// Port of the process pool parts of CPython's
// Lib/test/test_concurrent_futures/test_shutdown.py: ExecutorShutdownTest and
// ProcessPoolShutdownTest, which CPython runs once per multiprocessing context;
// here each TEST_P runs once per start method (Fork, Spawn, ForkServer). Suite
// ProcessPoolShutdownTest holds the ported cases, named after CPython's; suite
// ProcessPoolShutdownCppTest holds shutdown cases Python does not have
// (idempotence across threads, shutdown from a done callback on the manager
// thread, destruction after shutdown(wait=false, cancel_futures=true)).
//
// A C++ program has no interpreter exit with atexit hooks that join the pool:
// the executor's destructor, which is shutdown(wait=true), is the `with` block
// and the exit hook at once. So:
//  - test_interpreter_shutdown becomes "the destructor waits for a call that is
//    still running" (the worker writes "apple" to a file instead of stdout).
//  - test_submit_after_interpreter_shutdown (submit from an atexit hook after the
//    pool's own hook ran) becomes "submit while shutdown(wait=true) is waiting,
//    from another thread, throws std::runtime_error: cannot schedule new futures".
//  - test_hang_gh83386 (skipped for processes in CPython: it hangs there) becomes
//    "shutdown(wait=false) with a running call, then the destructor: no hang, and
//    the call completes".
//  - test_context_manager_shutdown and test_del_shutdown both end in the
//    destructor; the first scopes the executor, the second destroys it through a
//    unique_ptr while map() results are still pending.
// Other differences:
//  - executor._processes / p.join() become worker_pids() and "the pid no longer
//    exists", i.e. the manager has reaped the worker; _call_queue.join_thread()
//    and the manager thread's join() have no public counterpart, so the
//    checks are that every worker is reaped and that shutdown(wait=true) or the
//    destructor returns.
//  - Python's mp_context.Semaphore becomes a gate file (process_test_util.hpp).
//  - test_hang_issue12364 and test_cancel_futures run 50 calls of 20 ms / calls
//    blocked on a gate instead of 50 sleeps of 0.1 s, and the pool has 2 workers
//    (CPython: 5), to stay cheap; test_processes_terminate uses 3 workers and 2
//    blocked calls (CPython: 5 and 3), which keeps its point: Fork starts every
//    worker up front, the other methods only as many as there are calls.
//  - ThreadPoolShutdownTest (threads, thread names, cancel_futures_wait_false) is
//    ported in test_shutdown.cpp, not here.
#include <cfutures/cfutures.hpp>
#include <gtest/gtest.h>

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "executor_test_util.hpp"
#include "process_test_util.hpp"

using namespace std::chrono_literals;
using cf_test::append_line;
using cf_test::contains;
using cf_test::DeadlockWatchdog;
using cf_test::eventually;
using cf_test::kLongWait;
using cf_test::process_exists;
using cf_test::process_pool_options;
using cf_test::ProcessPoolTest;
using cf_test::read_lines;
using cf_test::TempDir;
using cf_test::touch;
using cf_test::wait_for_file;
using cf_test::wait_for_lines;
using cf_test::wait_reaped;
using cf_test::what_of;
using cf_test::what_of_call_after_shutdown;

namespace {

// ---- functions that run in the workers ---------------------------------------------

int mul(int x, int y) { return x * y; }

/// sleep_and_print(t, msg): sleeps `ms` milliseconds, then "prints" msg to the file `out`.
void sleep_and_print(int ms, std::string out, std::string msg) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    append_line(out, msg);
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

/// acquire_lock(sem): reports its pid in `started`, then waits for the gate (sem.release()).
void acquire_lock(std::string started, std::string gate) {
    append_line(started, std::to_string(::getpid()));
    wait_for_file(gate);
}

/// abs(), and the pid of the worker it ran in.
std::pair<int, pid_t> abs_and_pid(int v) { return {v < 0 ? -v : v, ::getpid()}; }
int abs_int(int v) { return v < 0 ? -v : v; }

int good_task_gh_132969(int n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * n));
    return n;
}
int failing_task_gh_132969(int) { throw std::invalid_argument("failing task"); }

std::vector<std::pair<int, pid_t>> expected_abs_range() {
    std::vector<std::pair<int, pid_t>> v;
    for (int i = -5; i < 5; ++i) v.emplace_back(abs_int(i), 0);
    return v;
}

/// Checks the values of map(abs_and_pid, range(-5, 5)) and returns the pids they ran in.
std::set<pid_t> check_abs_results(const std::vector<std::pair<int, pid_t>>& results) {
    const auto expected = expected_abs_range();
    EXPECT_EQ(results.size(), expected.size());
    std::set<pid_t> pids;
    for (std::size_t i = 0; i < std::min(results.size(), expected.size()); ++i) {
        EXPECT_EQ(results[i].first, expected[i].first) << "position " << i;
        pids.insert(results[i].second);
    }
    return pids;
}

// ---- the fixture --------------------------------------------------------------------

/// ExecutorMixin + ProcessPool{Fork,Forkserver,Spawn}Mixin + ExecutorShutdownTest.
class ProcessPoolShutdownTest : public ProcessPoolTest {};

}  // namespace

// ---------------------------------------------------------------------------
// ExecutorShutdownTest
// ---------------------------------------------------------------------------

TEST_P(ProcessPoolShutdownTest, test_run_after_shutdown) {
    executor.shutdown();
    const std::string msg = what_of_call_after_shutdown([&] { (void)executor.submit(&mul, 2, 5); });
    EXPECT_TRUE(contains(msg, "cannot schedule new futures after shutdown")) << msg;
}

TEST_P(ProcessPoolShutdownTest, test_interpreter_shutdown) {
    // The exit hook of Python is the destructor here: it waits for the call that
    // is still running (the 200 ms delay is the point), so "apple" is printed.
    const auto out = dir.file("stdout");
    {
        cf::ProcessPoolExecutor t(options(worker_count));
        t.submit(&sleep_and_print, 200, out, std::string("apple"));
    }
    EXPECT_EQ(read_lines(out), (std::vector<std::string>{"apple"}));
}

TEST_P(ProcessPoolShutdownTest, test_submit_after_interpreter_shutdown) {
    // Python: submit() from an atexit hook that runs after the pool's own hook
    // raises "RuntimeError: cannot schedule new futures". Here: a submit() while
    // shutdown(wait=true) is waiting for a running call, from another thread.
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    cf::ProcessPoolExecutor t(options(worker_count));
    auto running = t.submit(&acquire_lock, started, gate);
    ASSERT_TRUE(wait_for_lines(started, 1));
    std::atomic<bool> shutdown_returned{false};
    std::thread closer([&] {
        t.shutdown(/*wait=*/true);
        shutdown_returned = true;
    });
    // shutdown_ is set before shutdown() blocks; poll submit until it is refused.
    std::string msg;
    const bool refused = eventually([&] {
        try {
            (void)t.submit(&mul, 1, 1);
            return false;
        } catch (const std::runtime_error& e) {
            msg = e.what();
            return true;
        }
    });
    EXPECT_TRUE(refused);
    EXPECT_TRUE(contains(msg, "cannot schedule new futures")) << msg;
    EXPECT_FALSE(shutdown_returned.load()) << "shutdown(wait=true) returned while a call was running";
    touch(gate);
    closer.join();
    EXPECT_TRUE(shutdown_returned.load());
    EXPECT_NO_THROW(running.result(0s));
}

TEST_P(ProcessPoolShutdownTest, test_hang_issue12364) {
    std::vector<cf::Future<void>> fs;
    for (int i = 0; i < 50; ++i) fs.push_back(executor.submit(&sleep_ms, 20));
    executor.shutdown();
    for (auto& f : fs) EXPECT_NO_THROW(f.result(0s));
}

namespace {

/// test_cancel_futures' steps: submits 50 calls blocked on a gate, waits until one
/// runs, then shutdown(wait=true, cancel_futures=true), opening the gate once some
/// future is cancelled. Returns the futures.
std::vector<cf::Future<void>> submit_50_gated_then_cancel(cf::ProcessPoolExecutor& executor, const TempDir& dir) {
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    std::vector<cf::Future<void>> fs;
    for (int i = 0; i < 50; ++i) fs.push_back(executor.submit(&acquire_lock, started, gate));
    // At least one call runs before shutdown (Python relies on timing for that).
    EXPECT_TRUE(wait_for_lines(started, 1));
    // The running calls end once the pending ones have been cancelled.
    std::thread opener([&] {
        eventually([&] { return std::any_of(fs.begin(), fs.end(), [](auto& f) { return f.cancelled(); }); });
        touch(gate);
    });
    executor.shutdown(/*wait=*/true, /*cancel_futures=*/true);
    opener.join();
    // The cancelled calls never ran.
    EXPECT_EQ(read_lines(started).size(),
              static_cast<std::size_t>(std::count_if(fs.begin(), fs.end(), [](auto& f) { return !f.cancelled(); })));
    return fs;
}

}  // namespace

TEST_P(ProcessPoolShutdownTest, test_cancel_futures) {
    ASSERT_LE(worker_count, 5) << "test needs few workers";
    const auto fs = submit_50_gated_then_cancel(executor, dir);

    // We can't guarantee the exact number of cancellations, but with few workers
    // many of the submitted futures should have been cancelled.
    std::size_t cancelled = 0;
    std::size_t others = 0;
    for (auto& f : fs) {
        if (f.cancelled()) {
            ++cancelled;
        } else {
            ++others;
            EXPECT_TRUE(f.done());
            EXPECT_EQ(f.exception(0s), nullptr);
        }
    }
    EXPECT_GT(cancelled, 20u);
    EXPECT_GT(others, 0u);
}

TEST_P(ProcessPoolShutdownTest, test_hang_gh83386) {
    // shutdown(wait=false) with a running future, then the executor goes away:
    // no hang, and the call completes.
    const auto out = dir.file("stdout");
    {
        DeadlockWatchdog watchdog("shutdown(wait=false) then the destructor");
        cf::ProcessPoolExecutor t(options(3));
        t.submit(&sleep_and_print, 200, out, std::string("apple"));
        t.shutdown(/*wait=*/false);
    }
    EXPECT_EQ(read_lines(out), (std::vector<std::string>{"apple"}));
}

TEST_P(ProcessPoolShutdownTest, test_hang_gh94440) {
    // shutdown(wait=true) doesn't hang when a future was submitted and quickly
    // cancelled right before shutdown.
    cf::ProcessPoolExecutor ex(options(1));
    EXPECT_EQ(ex.submit([] { return 0; }).result(), 0);
    DeadlockWatchdog watchdog("shutdown after a cancelled submit (gh-94440)");
    ex.submit([] { return 0; }).cancel();
    ex.shutdown(/*wait=*/true);
}

// ---------------------------------------------------------------------------
// ProcessPoolShutdownTest (process specific)
// ---------------------------------------------------------------------------

TEST_P(ProcessPoolShutdownTest, test_processes_terminate) {
    const int max_workers = 3;
    const int calls = 2;
    // Fork starts every worker up front, not on demand.
    const std::size_t expected_num_processes = is_fork() ? max_workers : calls;
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    cf::ProcessPoolExecutor ex(options(max_workers));
    std::vector<cf::Future<void>> fs;
    for (int i = 0; i < calls; ++i) fs.push_back(ex.submit(&acquire_lock, started, gate));
    ASSERT_TRUE(wait_for_lines(started, calls));
    const auto processes = ex.worker_pids();
    EXPECT_EQ(processes.size(), expected_num_processes);
    touch(gate);
    ex.shutdown();
    for (pid_t p : processes) EXPECT_FALSE(process_exists(p)) << "worker " << p << " was not joined";
    EXPECT_TRUE(ex.worker_pids().empty());
    for (auto& f : fs) EXPECT_NO_THROW(f.result(0s));
}

TEST_P(ProcessPoolShutdownTest, test_context_manager_shutdown) {
    std::vector<pid_t> processes;
    std::set<pid_t> ran_in;
    {
        cf::ProcessPoolExecutor e(options(worker_count));
        ran_in = check_abs_results(e.map(&abs_and_pid, std::views::iota(-5, 5)).to_vector());
        EXPECT_EQ(e.map(&abs_int, std::views::iota(-5, 5)).to_vector(),
                  (std::vector<int>{5, 4, 3, 2, 1, 0, 1, 2, 3, 4}));
        processes = e.worker_pids();
    }
    EXPECT_FALSE(processes.empty());
    for (pid_t p : processes) EXPECT_FALSE(process_exists(p)) << "worker " << p << " outlived the executor";
    for (pid_t p : ran_in) EXPECT_FALSE(process_exists(p)) << "worker " << p << " outlived the executor";
}

TEST_P(ProcessPoolShutdownTest, test_del_shutdown) {
    auto ex = std::make_unique<cf::ProcessPoolExecutor>(options(worker_count));
    auto res = ex->map(&abs_and_pid, std::views::iota(-5, 5));
    ex.reset();  // del executor: the destructor shuts the pool down and waits
    // Make sure the results were all computed before the executor got shut down,
    // and that every worker they ran in has been reaped.
    const auto ran_in = check_abs_results(res.to_vector());
    EXPECT_FALSE(ran_in.empty());
    for (pid_t p : ran_in) EXPECT_FALSE(process_exists(p)) << "worker " << p << " outlived the executor";
}

TEST_P(ProcessPoolShutdownTest, test_shutdown_no_wait) {
    // Ensure that the executor cleans up the processes when calling shutdown with wait=False.
    cf::ProcessPoolExecutor ex(options(worker_count));
    auto res = ex.map(&abs_and_pid, std::views::iota(-5, 5));
    ex.shutdown(/*wait=*/false);
    // Make sure the results were all computed, although the executor was shut down.
    const auto ran_in = check_abs_results(res.to_vector());
    // ... and that every worker gets reaped without a shutdown(wait=true).
    for (pid_t p : ran_in) EXPECT_TRUE(wait_reaped(p)) << "worker " << p << " still exists";
    EXPECT_TRUE(eventually([&] { return ex.worker_pids().empty(); }));
}

namespace {

/// _run_test_issue_gh_132969: max_tasks_per_child=1, a call that fails, then
/// shutdown(wait=false): no error in the manager, no hang, and it cleans up.
int run_test_issue_gh_132969(const cf::ProcessPoolOptions& options) {
    cf::ProcessPoolExecutor ex(options);
    auto f1 = ex.submit(&good_task_gh_132969, 1);
    auto f2 = ex.submit(&failing_task_gh_132969, 2);
    auto f3 = ex.submit(&good_task_gh_132969, 3);
    int result = 0;
    try {
        result += f1.result();
        result += f2.result();
        result += f3.result();
    } catch (const std::invalid_argument& e) {
        // stop processing results upon first exception
        EXPECT_STREQ(e.what(), "failing task");
    }
    // Ensure that the executor cleans up after shutdown(wait=false).
    ex.shutdown(/*wait=*/false);
    EXPECT_EQ(f3.result(kLongWait), 3) << "the call still queued must run";
    EXPECT_TRUE(eventually([&] { return ex.worker_pids().empty(); })) << "workers left after shutdown";
    DeadlockWatchdog watchdog("the destructor after shutdown(wait=false) (gh-132969)");
    return result;
}

}  // namespace

TEST_P(ProcessPoolShutdownTest, test_shutdown_gh_132969_case_1) {
    // gh-132969: no error ("object of type 'NoneType' has no len()") with max_workers=2.
    if (is_fork()) {
        EXPECT_THROW(cf::ProcessPoolExecutor{options(2, 1)}, std::invalid_argument);
        return;
    }
    EXPECT_EQ(run_test_issue_gh_132969(options(2, 1)), 1);
}

TEST_P(ProcessPoolShutdownTest, test_shutdown_gh_132969_case_2) {
    // gh-132969: and no hang with max_workers=4.
    if (is_fork()) {
        EXPECT_THROW(cf::ProcessPoolExecutor{options(4, 1)}, std::invalid_argument);
        return;
    }
    EXPECT_EQ(run_test_issue_gh_132969(options(4, 1)), 1);
}

INSTANTIATE_TEST_SUITE_P(StartMethod, ProcessPoolShutdownTest, cf_test::kAllStartMethods, cf_test::StartMethodName{});

// ---------------------------------------------------------------------------
// ProcessPoolShutdownCppTest
// ---------------------------------------------------------------------------

namespace {
class ProcessPoolShutdownCppTest : public ProcessPoolShutdownTest {};
}  // namespace

TEST_P(ProcessPoolShutdownCppTest, shutdown_is_idempotent_and_callable_from_many_threads) {
    EXPECT_EQ(executor.submit(&mul, 6, 7).result(), 42);
    const auto pids = executor.worker_pids();
    {
        DeadlockWatchdog watchdog("concurrent shutdown calls");
        std::vector<std::thread> threads;
        for (int i = 0; i < 4; ++i) threads.emplace_back([&, i] { executor.shutdown(/*wait=*/i % 2 == 0); });
        for (auto& t : threads) t.join();
        executor.shutdown();
        executor.shutdown(/*wait=*/false, /*cancel_futures=*/true);
    }
    for (pid_t p : pids) EXPECT_TRUE(wait_reaped(p));
    EXPECT_THROW((void)executor.submit(&mul, 1, 1), std::runtime_error);
}

TEST_P(ProcessPoolShutdownCppTest, shutdown_nowait_cancel_futures_then_destructor) {
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    std::vector<cf::Future<void>> fs;
    std::vector<pid_t> pids;
    {
        DeadlockWatchdog watchdog("shutdown(wait=false, cancel_futures=true) then the destructor");
        cf::ProcessPoolExecutor ex(options(1));
        for (int i = 0; i < 10; ++i) fs.push_back(ex.submit(&acquire_lock, started, gate));
        ASSERT_TRUE(wait_for_lines(started, 1));
        pids = ex.worker_pids();
        ex.shutdown(/*wait=*/false, /*cancel_futures=*/true);
        // The pending calls are cancelled at once; the running one goes on.
        EXPECT_TRUE(eventually([&] { return fs.back().cancelled(); }));
        EXPECT_FALSE(fs.front().done());
        touch(gate);
    }  // the destructor waits for the running call
    EXPECT_NO_THROW(fs.front().result(0s));
    const auto cancelled = std::count_if(fs.begin(), fs.end(), [](auto& f) { return f.cancelled(); });
    // One worker, one call running: most of the others were still pending (CPython's
    // test_cancel_futures expects more than 20 of 50 cancelled with up to 5 workers).
    EXPECT_GE(cancelled, 5);
    EXPECT_EQ(read_lines(started).size(), fs.size() - static_cast<std::size_t>(cancelled));
    for (pid_t p : pids) EXPECT_FALSE(process_exists(p));
}

TEST_P(ProcessPoolShutdownCppTest, shutdown_nowait_cancel_futures_has_cancelled_pending_calls_when_it_returns) {
    // API.md: with wait=false too, every call still PENDING is cancelled when shutdown
    // returns (Python's process pool leaves it to its manager thread, a moment later).
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    std::vector<cf::Future<void>> fs;
    {
        cf::ProcessPoolExecutor ex(options(1));
        for (int i = 0; i < 20; ++i) fs.push_back(ex.submit(&acquire_lock, started, gate));
        ASSERT_TRUE(wait_for_lines(started, 1));
        ex.shutdown(/*wait=*/false, /*cancel_futures=*/true);
        std::size_t cancelled = 0;
        for (const auto& f : fs) {
            // Handed to the worker (RUNNING, as in Python) or cancelled: none is pending.
            EXPECT_TRUE(f.cancelled() || f.running()) << f;
            cancelled += f.cancelled() ? 1 : 0;
        }
        EXPECT_GE(cancelled, 10u);
        touch(gate);
    }
    for (const auto& f : fs) EXPECT_TRUE(f.done());
}

TEST_P(ProcessPoolShutdownCppTest, slow_calls_after_many_fast_ones_stay_cancellable) {
    // Fast calls open the window of calls in flight per worker (up to hundreds,
    // include/cfutures/detail/call_window.hpp); once replies have stopped for a
    // while, it is back to 2, so slow calls submitted then are not all shipped.
    {
        std::vector<cf::Future<int>> fast;
        for (int i = 0; i < 5000; ++i) fast.push_back(executor.submit(&mul, i, 2));
        for (int i = 0; i < 5000; ++i) ASSERT_EQ(fast[static_cast<std::size_t>(i)].result(kLongWait), 2 * i);
    }
    std::this_thread::sleep_for(50ms);
    const auto fs = submit_50_gated_then_cancel(executor, dir);
    const auto cancelled = std::count_if(fs.begin(), fs.end(), [](auto& f) { return f.cancelled(); });
    EXPECT_GT(cancelled, 40) << "at most 2 calls per worker should have been sent";
}

TEST_P(ProcessPoolShutdownCppTest, shutdown_from_a_done_callback_does_not_deadlock) {
    // Done callbacks of process pool futures run on the pool's manager thread:
    // shutdown(wait=true) there must not wait for that thread itself.
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    auto ex = std::make_unique<cf::ProcessPoolExecutor>(options(worker_count));
    auto running = ex->submit(&acquire_lock, started, gate);
    auto queued = ex->submit(&mul, 3, 4);
    ASSERT_TRUE(wait_for_lines(started, 1));
    cf_test::Gate called;
    running.add_done_callback([&](const cf::Future<void>&) {
        ex->shutdown(/*wait=*/true);
        called.open();
    });
    DeadlockWatchdog watchdog("shutdown(wait=true) from a done callback");
    touch(gate);
    EXPECT_TRUE(called.wait_for(kLongWait));
    EXPECT_NO_THROW(running.result(kLongWait));
    EXPECT_EQ(queued.result(kLongWait), 12);
    EXPECT_THROW((void)ex->submit(&mul, 1, 1), std::runtime_error);
    ex.reset();
}

TEST_P(ProcessPoolShutdownCppTest, executor_destroyed_in_a_done_callback) {
    // The last owner drops the executor from a done callback, i.e. on the manager
    // thread: the destructor must not join its own thread.
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    auto ex = std::make_unique<cf::ProcessPoolExecutor>(options(1));
    auto running = ex->submit(&acquire_lock, started, gate);
    ASSERT_TRUE(wait_for_lines(started, 1));
    const auto pids = ex->worker_pids();
    cf_test::Gate destroyed;
    running.add_done_callback([&](const cf::Future<void>&) {
        ex.reset();
        destroyed.open();
    });
    DeadlockWatchdog watchdog("destroying the executor from a done callback");
    touch(gate);
    EXPECT_TRUE(destroyed.wait_for(kLongWait));
    EXPECT_NO_THROW(running.result(kLongWait));
    for (pid_t p : pids) EXPECT_TRUE(wait_reaped(p)) << "worker " << p << " was not reaped";
}

INSTANTIATE_TEST_SUITE_P(StartMethod, ProcessPoolShutdownCppTest, cf_test::kAllStartMethods,
                         cf_test::StartMethodName{});
