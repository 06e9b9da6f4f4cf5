// Port of the process pool parts of CPython's Lib/test/test_concurrent_futures/test_init.py:
// InitializerMixin and FailingInitializerMixin, which CPython runs once per
// multiprocessing context, and FailingInitializerResourcesTest. Here each TEST_P
// runs once per start method (Fork, Spawn, ForkServer). Suites
// ProcessPoolInitializerTest and ProcessPoolFailingInitializerTest hold the
// ported cases; ProcessPoolInitializerCppTest holds what Python's tests do not
// check (each worker runs the initializer once and before its first call, also a
// replacement worker of max_tasks_per_child; the three kinds of initializer).
//
// How the Python cases map:
//  - init(x) with initargs=('initialized',) becomes a serializable callable object
//    holding x (C++ has no initargs: the object's state is the arguments); it sets
//    the worker-side global g_init_status, which get_init_status() returns. The
//    parent's g_init_status must stay "uninitialized".
//  - FailingInitializerMixin._assert_logged: CPython reads the worker's log record
//    "ValueError: error in initializer"; here the worker reports the error to the
//    pool, and the BrokenProcessPool's what() must name it
//    ("std::invalid_argument: error in initializer"). The "poll executor._broken"
//    loop becomes: once a future has failed with BrokenProcessPool, submit throws it.
//  - FailingInitializerResourcesTest checks that the multiprocessing resource
//    tracker has no leaked semaphores; there are none here. Ported as: the workers
//    whose initializer failed are reaped, and no worker is left after shutdown.
//  - The ThreadPool variants of these mixins are in test_init.cpp.
#include <cfutures/cfutures.hpp>
#include <gtest/gtest.h>

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "executor_test_util.hpp"
#include "process_test_util.hpp"

using namespace std::chrono_literals;
using cf_test::append_line;
using cf_test::contains;
using cf_test::eventually;
using cf_test::kLongWait;
using cf_test::process_exists;
using cf_test::read_lines;
using cf_test::TempDir;
using cf_test::wait_for_lines;
using cf_test::wait_reaped;
using cf_test::what_of;

namespace {

// ---- worker side ---------------------------------------------------------------------

/// INITIALIZER_STATUS: set in a worker by its initializer; never in the test process.
std::string g_init_status = "uninitialized";

std::string get_init_status() { return g_init_status; }

std::pair<std::string, pid_t> get_init_status_and_pid() { return {g_init_status, ::getpid()}; }

/// init(x), initargs=(x,): also appends the worker's pid to `log` when one is given.
struct Init {
    std::string x;
    std::string log;

    template <class Archive>
    void serialize(Archive& a) {
        a(x, log);
    }
    void operator()() const {
        g_init_status = x;
        if (!log.empty()) append_line(log, std::to_string(::getpid()));
    }
};

void init_by_function() { g_init_status = "initialized by a function"; }

/// init_fail: lets some futures be scheduled, then raises.
struct InitFail {
    std::string log;

    template <class Archive>
    void serialize(Archive& a) {
        a(log);
    }
    void operator()() const {
        append_line(log, std::to_string(::getpid()));
        std::this_thread::sleep_for(100ms);  // let some futures be scheduled
        throw std::invalid_argument("error in initializer");
    }
};

/// A call that records that it ran.
std::string logged_status(std::string log) {
    append_line(log, std::to_string(::getpid()));
    return g_init_status;
}

// ---- fixtures -----------------------------------------------------------------------

cf::ProcessPoolOptions pool_options(cf::StartMethod method, int max_workers, cf::RemoteInitializer initializer,
                                    std::optional<int> max_tasks_per_child = std::nullopt) {
    return cf::ProcessPoolOptions{.max_workers = max_workers,
                                  .start_method = method,
                                  .initializer = std::move(initializer),
                                  .max_tasks_per_child = max_tasks_per_child};
}

std::set<pid_t> pids_in(const std::vector<std::string>& lines) {
    std::set<pid_t> pids;
    for (const auto& l : lines) pids.insert(static_cast<pid_t>(std::stol(l)));
    return pids;
}

class InitializerTestBase : public ::testing::TestWithParam<cf::StartMethod> {
protected:
    static constexpr int worker_count = 2;

    void SetUp() override { ASSERT_EQ(g_init_status, "uninitialized"); }

    void TearDown() override {
        if (executor) executor->shutdown(/*wait=*/true);
        const auto dt = std::chrono::steady_clock::now() - t1;
        EXPECT_LT(dt, 300s) << "synchronization issue: test lasted too long";
        // The initializer runs in the workers only.
        EXPECT_EQ(g_init_status, "uninitialized");
    }

    [[nodiscard]] cf::StartMethod method() const { return GetParam(); }
    [[nodiscard]] bool is_fork() const { return method() == cf::StartMethod::Fork; }

    TempDir dir;
    std::string init_log = dir.file("init");
    std::chrono::steady_clock::time_point t1 = std::chrono::steady_clock::now();
    std::optional<cf::ProcessPoolExecutor> executor;
};

/// InitializerMixin: initializer=init, initargs=('initialized',).
class ProcessPoolInitializerTest : public InitializerTestBase {
protected:
    void SetUp() override {
        InitializerTestBase::SetUp();
        executor.emplace(pool_options(method(), worker_count, Init{"initialized", init_log}));
    }
};

/// FailingInitializerMixin: initializer=init_fail.
class ProcessPoolFailingInitializerTest : public InitializerTestBase {
protected:
    void SetUp() override {
        InitializerTestBase::SetUp();
        executor.emplace(pool_options(method(), worker_count, InitFail{init_log}));
    }
};

class ProcessPoolInitializerCppTest : public InitializerTestBase {};

}  // namespace

// ---------------------------------------------------------------------------
// InitializerMixin
// ---------------------------------------------------------------------------

TEST_P(ProcessPoolInitializerTest, test_initializer) {
    std::vector<cf::Future<std::pair<std::string, pid_t>>> futures;
    for (int i = 0; i < worker_count; ++i) futures.push_back(executor->submit(&get_init_status_and_pid));
    std::set<pid_t> ran_in;
    for (auto& f : futures) {
        const auto [status, pid] = f.result();
        EXPECT_EQ(status, "initialized");
        ran_in.insert(pid);
    }
    // Each worker that ran a call had run the initializer (a file written by it says so).
    const auto initialized = pids_in(read_lines(init_log));
    for (pid_t pid : ran_in) EXPECT_TRUE(initialized.count(pid)) << "worker " << pid << " skipped the initializer";
}

INSTANTIATE_TEST_SUITE_P(StartMethod, ProcessPoolInitializerTest, cf_test::kAllStartMethods,
                         cf_test::StartMethodName{});

// ---------------------------------------------------------------------------
// FailingInitializerMixin
// ---------------------------------------------------------------------------

TEST_P(ProcessPoolFailingInitializerTest, test_initializer) {
    std::string msg;
    try {
        auto future = executor->submit(&get_init_status);
        msg = what_of<cf::BrokenProcessPool>([&] { (void)future.result(); });
    } catch (const cf::BrokenProcessPool& e) {
        // Perhaps the executor is already broken.
        msg = e.what();
    }
    // _assert_logged('ValueError: error in initializer'): the reason reaches the caller.
    EXPECT_TRUE(contains(msg, "std::invalid_argument: error in initializer")) << msg;
    // cf::BrokenProcessPool is a cf::BrokenExecutor, as in Python.
    static_assert(std::is_base_of_v<cf::BrokenExecutor, cf::BrokenProcessPool>);

    // ... and from this point submit() is guaranteed to fail.
    EXPECT_THROW((void)executor->submit(&get_init_status), cf::BrokenProcessPool);
    EXPECT_THROW((void)executor->submit(&get_init_status), cf::BrokenExecutor);
}

TEST_P(ProcessPoolFailingInitializerTest, pending_futures_all_fail_and_never_run) {
    const auto calls = dir.file("calls");
    std::vector<cf::Future<std::string>> futures;
    for (int i = 0; i < 6; ++i) {
        try {
            futures.push_back(executor->submit(&logged_status, calls));
        } catch (const cf::BrokenProcessPool&) {
            break;  // already broken (a very slow test machine)
        }
    }
    for (auto& f : futures) {
        const std::string msg = what_of<cf::BrokenProcessPool>([&] { (void)f.result(kLongWait); });
        EXPECT_TRUE(contains(msg, "error in initializer")) << msg;
    }
    EXPECT_TRUE(read_lines(calls).empty()) << "a call ran in a worker whose initializer failed";
}

TEST_P(ProcessPoolFailingInitializerTest, failing_initializer_resources) {
    // FailingInitializerResourcesTest (gh-104090): nothing is left behind. The
    // worker named by the error is reaped, and so is every worker that started.
    auto future = executor->submit(&get_init_status);
    const std::string msg = what_of<cf::BrokenProcessPool>([&] { (void)future.result(); });
    const pid_t dead = cf_test::pid_in_message(msg);
    ASSERT_GT(dead, 0) << msg;
    EXPECT_TRUE(contains(msg, "worker " + std::to_string(dead) + " exited with code")) << msg;
    EXPECT_TRUE(wait_reaped(dead));
    executor->shutdown(/*wait=*/true);
    EXPECT_TRUE(executor->worker_pids().empty());
    for (pid_t pid : pids_in(read_lines(init_log))) EXPECT_FALSE(process_exists(pid)) << "worker " << pid << " left";
}

INSTANTIATE_TEST_SUITE_P(StartMethod, ProcessPoolFailingInitializerTest, cf_test::kAllStartMethods,
                         cf_test::StartMethodName{});

// ---------------------------------------------------------------------------
// ProcessPoolInitializerCppTest
// ---------------------------------------------------------------------------

TEST_P(ProcessPoolInitializerCppTest, initializer_runs_once_in_each_worker_before_its_calls) {
    const auto calls = dir.file("calls");
    executor.emplace(pool_options(method(), worker_count, Init{"initialized", init_log}));
    std::vector<cf::Future<std::string>> futures;
    for (int i = 0; i < 20; ++i) futures.push_back(executor->submit(&logged_status, calls));
    for (auto& f : futures) EXPECT_EQ(f.result(), "initialized");
    const auto init_lines = read_lines(init_log);
    const auto initialized = pids_in(init_lines);
    EXPECT_EQ(initialized.size(), init_lines.size()) << "a worker ran the initializer twice";
    EXPECT_LE(initialized.size(), static_cast<std::size_t>(worker_count));
    for (pid_t pid : pids_in(read_lines(calls))) EXPECT_TRUE(initialized.count(pid)) << pid;
    if (is_fork()) {
        // Every forked worker is started up front, and each runs the initializer.
        EXPECT_TRUE(wait_for_lines(init_log, worker_count));
    }
}

TEST_P(ProcessPoolInitializerCppTest, function_pointer_and_lambda_initializers) {
    executor.emplace(pool_options(method(), 1, &init_by_function));
    EXPECT_EQ(executor->submit(&get_init_status).result(), "initialized by a function");
    executor->shutdown();
    executor.emplace(pool_options(method(), 1, [] { g_init_status = "initialized by a lambda"; }));
    EXPECT_EQ(executor->submit(&get_init_status).result(), "initialized by a lambda");
    executor->shutdown();
    // No initializer: nothing runs.
    executor.emplace(pool_options(method(), 1, nullptr));
    EXPECT_EQ(executor->submit(&get_init_status).result(), "uninitialized");
}

TEST_P(ProcessPoolInitializerCppTest, replacement_workers_run_the_initializer_too) {
    if (is_fork()) {
        EXPECT_THROW(cf::ProcessPoolExecutor{pool_options(method(), 1, Init{"initialized", init_log}, 1)},
                     std::invalid_argument);
        return;
    }
    executor.emplace(pool_options(method(), 1, Init{"initialized", init_log}, /*max_tasks_per_child=*/1));
    std::set<pid_t> pids;
    for (int i = 0; i < 3; ++i) {
        const auto [status, pid] = executor->submit(&get_init_status_and_pid).result();
        EXPECT_EQ(status, "initialized");
        pids.insert(pid);
    }
    EXPECT_EQ(pids.size(), 3u) << "max_tasks_per_child=1 should have replaced the worker each time";
    EXPECT_EQ(pids_in(read_lines(init_log)), pids);
}

TEST_P(ProcessPoolInitializerCppTest, failing_initializer_fails_submit_on_later_use) {
    // A failed initializer breaks the pool even when nobody waits for a call:
    // the next submit throws, and shutdown does not hang.
    executor.emplace(pool_options(method(), 1, InitFail{init_log}));
    auto future = executor->submit(&get_init_status);
    ASSERT_TRUE(eventually([&] { return future.done(); }));
    EXPECT_THROW((void)executor->submit(&get_init_status), cf::BrokenProcessPool);
    EXPECT_THROW((void)future.result(), cf::BrokenProcessPool);
}

INSTANTIATE_TEST_SUITE_P(StartMethod, ProcessPoolInitializerCppTest, cf_test::kAllStartMethods,
                         cf_test::StartMethodName{});
