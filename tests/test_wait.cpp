// CPython's Lib/test/test_concurrent_futures/test_wait.py: WaitTests (wait_contract.hpp)
// run on every executor of this library as CPython's create_executor_tests does, as
// WaitTests.<case><cf_contract::{ThreadPool,ProcessPoolFork,ProcessPoolSpawn,ProcessPoolForkServer}>
// (tests/mpi/test_mpi.cpp runs them on the MPI executors); ThreadPoolWaitTests'
// own case; then what only the C++ API has (suite WaitCppTests).
//
// Adapted: test_pending_calls_race: sys.setswitchinterval has no C++ counterpart;
// the race is exercised over several rounds instead, and the result checked.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "test_util.hpp"
#include "wait_contract.hpp"

using namespace std::chrono_literals;
using cf_test::CANCELLED_FUTURE;
using cf_test::SUCCESSFUL_FUTURE;

INSTANTIATE_TYPED_TEST_SUITE_P(WaitTests, WaitTests, cf_contract::LocalExecutors);

namespace {

using FutureSet = std::unordered_set<cf::Future<int>>;
using AnySet = std::unordered_set<cf::AnyFuture>;

constexpr auto kShortTimeout = 30s;  // support.SHORT_TIMEOUT

int mul(int x, int y) { return x * y; }

int wait_event(cf_test::Event& e) { return e.wait() ? 1 : 0; }

}  // namespace

// ============================================================================
// ThreadPoolWaitTests: the case CPython runs on the thread pool only
// ============================================================================

TEST(ThreadPoolWaitTests, test_pending_calls_race) {
    // Issue #14406: multi-threaded race condition when waiting on all futures.
    cf::ThreadPoolExecutor executor(5);
    for (int round = 0; round < 10; ++round) {
        cf_test::Event go;
        FutureSet fs;
        for (int i = 0; i < 100; ++i) fs.insert(executor.submit([&go, i] {
            go.wait();
            return i;
        }));
        go.set();
        auto [done, not_done] = cf::wait(fs, cf::ALL_COMPLETED);
        EXPECT_EQ(done.size(), 100u);
        EXPECT_TRUE(not_done.empty());
        for (const auto& f : fs) ASSERT_TRUE(f.done());
    }
}

// ============================================================================
// WaitCppTests: what Python cannot have, and the deliberate differences
// ============================================================================

TEST(WaitCppTests, result_types) {
    std::vector<cf::Future<int>> fs{SUCCESSFUL_FUTURE()};
    auto [done, not_done] = cf::wait(fs);
    static_assert(std::is_same_v<decltype(done), std::unordered_set<cf::Future<int>>>);
    static_assert(std::is_same_v<decltype(cf::wait(fs, 1s, cf::FIRST_EXCEPTION)), cf::WaitResult<cf::Future<int>>>);
    static_assert(std::is_same_v<decltype(cf::wait(std::vector<cf::AnyFuture>{})), cf::WaitResult<cf::AnyFuture>>);
    EXPECT_EQ(done, FutureSet{fs[0]});
    EXPECT_TRUE(not_done.empty());
}

TEST(WaitCppTests, empty_range_returns_at_once) {
    for (auto when : {cf::FIRST_COMPLETED, cf::FIRST_EXCEPTION, cf::ALL_COMPLETED}) {
        auto r = cf::wait(std::vector<cf::Future<int>>{}, when);
        EXPECT_TRUE(r.done.empty());
        EXPECT_TRUE(r.not_done.empty());
        auto r2 = cf::wait(std::vector<cf::AnyFuture>{}, 1h, when);
        EXPECT_TRUE(r2.done.empty());
        EXPECT_TRUE(r2.not_done.empty());
    }
}

TEST(WaitCppTests, cancel_counts_as_done_at_once) {
    // Deliberate difference from Python: cancel() alone releases a wait.
    for (auto when : {cf::FIRST_COMPLETED, cf::ALL_COMPLETED}) {
        cf::Future<int> f;
        std::jthread canceller([&] {
            std::this_thread::sleep_for(20ms);  // let the wait block first (not needed for correctness)
            EXPECT_TRUE(f.cancel());
        });
        auto [done, not_done] = cf::wait(std::vector{f}, kShortTimeout, when);
        EXPECT_EQ(done, FutureSet{f});
        EXPECT_TRUE(not_done.empty());
        EXPECT_TRUE(f.cancelled());
    }
}

TEST(WaitCppTests, shutdown_cancel_futures_releases_wait) {
    // Python's wait can stay blocked on a future cancelled by shutdown(cancel_futures=True);
    // here it returns.
    cf_test::Event release;
    cf::ThreadPoolExecutor ex(1);
    auto blocker = ex.submit(wait_event, std::ref(release));
    auto queued1 = ex.submit(mul, 1, 1);
    auto queued2 = ex.submit(mul, 2, 2);
    std::jthread stopper([&] {
        std::this_thread::sleep_for(20ms);
        ex.shutdown(/*wait=*/false, /*cancel_futures=*/true);
    });
    const auto start = std::chrono::steady_clock::now();
    auto [done, not_done] = cf::wait({queued1, queued2}, kShortTimeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, kShortTimeout);
    EXPECT_EQ(done, (FutureSet{queued1, queued2}));
    EXPECT_TRUE(not_done.empty());
    EXPECT_TRUE(queued1.cancelled());
    EXPECT_TRUE(queued2.cancelled());
    stopper.join();
    release.set();
    EXPECT_EQ(blocker.result(kShortTimeout), 1);
}

TEST(WaitCppTests, first_exception_ignores_cancelled) {
    auto cancelled = CANCELLED_FUTURE();
    cf::Future<int> pending;
    auto [done, not_done] = cf::wait(std::vector{cancelled, pending}, 30ms, cf::FIRST_EXCEPTION);
    EXPECT_EQ(done, FutureSet{cancelled});
    EXPECT_EQ(not_done, FutureSet{pending});

    // With no exception at all, FIRST_EXCEPTION returns when all are done.
    cf::ThreadPoolExecutor ex(2);
    auto a = ex.submit(mul, 3, 3);
    auto b = ex.submit(mul, 4, 4);
    auto r = cf::wait(std::vector{a, b, cancelled}, kShortTimeout, cf::FIRST_EXCEPTION);
    EXPECT_EQ(r.done, (FutureSet{a, b, cancelled}));
    EXPECT_TRUE(r.not_done.empty());
}

TEST(WaitCppTests, duplicates_collapse) {
    cf::Future<int> pending;
    auto done_future = SUCCESSFUL_FUTURE();
    auto r = cf::wait(std::vector{pending, done_future, pending, pending, done_future}, 0s);
    EXPECT_EQ(r.done, FutureSet{done_future});
    EXPECT_EQ(r.not_done, FutureSet{pending});

    // Duplicates of a pending future: ALL_COMPLETED counts it once.
    std::jthread setter([&] {
        std::this_thread::sleep_for(10ms);
        pending.set_result(1);
    });
    auto r2 = cf::wait({pending, pending, pending}, kShortTimeout);
    EXPECT_EQ(r2.done, FutureSet{pending});
    EXPECT_TRUE(r2.not_done.empty());

    // Copies of one AnyFuture, or an AnyFuture and the Future it came from, are one future.
    cf::AnyFuture a = done_future;
    auto r3 = cf::wait(std::vector<cf::AnyFuture>{a, done_future, cf::AnyFuture(done_future)});
    EXPECT_EQ(r3.done.size(), 1u);
}

TEST(WaitCppTests, braced_lists) {
    cf::Future<int> f1 = SUCCESSFUL_FUTURE();
    cf::Future<int> f2;
    {
        auto [done, not_done] = cf::wait({f1, f2}, 0s);
        static_assert(std::is_same_v<decltype(done), FutureSet>);
        EXPECT_EQ(done, FutureSet{f1});
        EXPECT_EQ(not_done, FutureSet{f2});
    }
    {
        auto [done, not_done] = cf::wait({f1, f2}, cf::FIRST_COMPLETED);
        EXPECT_EQ(done, FutureSet{f1});
        EXPECT_EQ(not_done, FutureSet{f2});
    }
    {
        auto [done, not_done] = cf::wait({f1, f2}, 10ms, cf::FIRST_EXCEPTION);
        EXPECT_EQ(done, FutureSet{f1});
        EXPECT_EQ(not_done, FutureSet{f2});
    }
    f2.set_result(2);
    {
        auto [done, not_done] = cf::wait({f1, f2});
        EXPECT_EQ(done, (FutureSet{f1, f2}));
        EXPECT_TRUE(not_done.empty());
    }
}

TEST(WaitCppTests, mixed_result_types) {
    cf_test::Event release;  // declared first: outlives the pool's threads
    cf::ThreadPoolExecutor ex(3);
    cf::Future<int> fi = ex.submit(mul, 6, 7);
    cf::Future<std::string> fs = ex.submit([] { return std::string("text"); });
    cf::Future<void> fv = ex.submit([&release] { release.wait(); });
    cf::Future<double> fe = ex.submit([]() -> double { throw std::overflow_error("too big"); });

    // A braced list of different future types is a list of AnyFuture.
    {
        auto [done, not_done] = cf::wait({fi, fs, fe}, kShortTimeout);
        static_assert(std::is_same_v<decltype(done), AnySet>);
        EXPECT_EQ(done, (AnySet{fi, fs, fe}));
        EXPECT_TRUE(not_done.empty());
    }
    {
        auto [done, not_done] = cf::wait({fi, fv}, 0s);
        EXPECT_EQ(done, AnySet{fi});
        EXPECT_EQ(not_done, AnySet{fv});
        EXPECT_TRUE(not_done.contains(fv));  // lookup with the typed handle
    }
    {
        auto [done, not_done] = cf::wait({fv, fe}, cf::FIRST_EXCEPTION);
        EXPECT_EQ(done, AnySet{fe});
        EXPECT_EQ(not_done, AnySet{fv});
    }
    {
        auto [done, not_done] = cf::wait({fv, fs, fi}, kShortTimeout, cf::FIRST_COMPLETED);
        EXPECT_EQ(done, (AnySet{fs, fi}));
        EXPECT_EQ(not_done, AnySet{fv});
    }
    // A vector of AnyFuture.
    std::vector<cf::AnyFuture> all{fi, fs, fv, fe};
    release.set();
    auto [done, not_done] = cf::wait(all);
    EXPECT_EQ(done.size(), 4u);
    EXPECT_TRUE(not_done.empty());
    for (const cf::AnyFuture& f : done) {
        if (f.result_type() == typeid(int)) {
            EXPECT_EQ(f.as<int>().result(), 42);
        } else if (f.result_type() == typeid(std::string)) {
            EXPECT_EQ(f.as<std::string>().result(), "text");
        } else if (f.result_type() == typeid(double)) {
            EXPECT_THROW((void)f.as<double>().result(), std::overflow_error);
        } else {
            EXPECT_EQ(f.result_type(), typeid(void));
        }
    }
}

TEST(WaitCppTests, any_range) {
    cf::ThreadPoolExecutor ex(2);
    std::unordered_map<cf::Future<int>, std::string> by_future;
    std::list<cf::Future<int>> list;
    for (int i = 0; i < 8; ++i) {
        auto f = ex.submit(mul, i, i);
        by_future.emplace(f, std::to_string(i));
        list.push_back(f);
    }
    // The keys of a map, through a view.
    auto r1 = cf::wait(std::views::keys(by_future), kShortTimeout);
    EXPECT_EQ(r1.done.size(), 8u);
    EXPECT_TRUE(r1.not_done.empty());
    // A const list, a set, a transformed view.
    const auto& clist = list;
    EXPECT_EQ(cf::wait(clist).done.size(), 8u);
    const FutureSet set(list.begin(), list.end());
    EXPECT_EQ(cf::wait(set, cf::FIRST_EXCEPTION).done, set);
    auto copies = list | std::views::transform([](const cf::Future<int>& f) { return f; });
    EXPECT_EQ(cf::wait(copies).done, set);
}

TEST(WaitCppTests, huge_timeouts) {
    cf::Future<int> pending;
    std::jthread setter([&] {
        std::this_thread::sleep_for(20ms);
        pending.set_result(1);
    });
    auto r = cf::wait({pending}, std::chrono::hours::max());
    EXPECT_EQ(r.done, FutureSet{pending});
    auto done = SUCCESSFUL_FUTURE();
    EXPECT_EQ(cf::wait({done}, std::chrono::nanoseconds::max(), cf::FIRST_COMPLETED).done, FutureSet{done});
    EXPECT_EQ(cf::wait({done}, std::chrono::duration<double>(1e300), cf::FIRST_EXCEPTION).done, FutureSet{done});
}

TEST(WaitCppTests, zero_and_negative_timeouts_do_not_block) {
    cf::Future<int> pending;
    auto done = SUCCESSFUL_FUTURE();
    const auto start = std::chrono::steady_clock::now();
    for (auto when : {cf::FIRST_COMPLETED, cf::FIRST_EXCEPTION, cf::ALL_COMPLETED}) {
        auto r0 = cf::wait({pending}, 0s, when);
        EXPECT_TRUE(r0.done.empty());
        EXPECT_EQ(r0.not_done, FutureSet{pending});
        auto r1 = cf::wait({pending, done}, -1s, when);
        EXPECT_EQ(r1.not_done, FutureSet{pending});
        EXPECT_EQ(r1.done, FutureSet{done});
        auto r2 = cf::wait({pending}, std::chrono::hours::min(), when);
        EXPECT_EQ(r2.not_done, FutureSet{pending});
        auto r3 = cf::wait({pending}, std::chrono::duration<double>(-0.25), when);
        EXPECT_EQ(r3.not_done, FutureSet{pending});
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(WaitCppTests, first_completed_loop_sees_every_future) {
    // A hand-written as_completed: repeated FIRST_COMPLETED waits over a shrinking set.
    cf::ThreadPoolExecutor ex(4);
    FutureSet remaining;
    for (int i = 0; i < 200; ++i) remaining.insert(ex.submit(mul, i, 2));
    int seen = 0;
    long sum = 0;
    while (!remaining.empty()) {
        auto [done, not_done] = cf::wait(remaining, kShortTimeout, cf::FIRST_COMPLETED);
        ASSERT_FALSE(done.empty());
        for (const auto& f : done) {
            ++seen;
            sum += f.result();
        }
        remaining = std::move(not_done);
    }
    EXPECT_EQ(seen, 200);
    EXPECT_EQ(sum, 2L * (199 * 200 / 2));
}
