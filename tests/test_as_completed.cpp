// CPython's Lib/test/test_concurrent_futures/test_as_completed.py: AsCompletedTests
// (as_completed_contract.hpp) run on every executor of this library as CPython's
// create_executor_tests does, as
// AsCompletedTests.<case><cf_contract::{ThreadPool,ProcessPoolFork,ProcessPoolSpawn,ProcessPoolForkServer}>
// (tests/mpi/test_mpi.cpp runs them on the MPI executors); then what only the C++ API
// has (suite AsCompletedCppTests). CPython's InterpreterPool variant has no C++
// counterpart.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "as_completed_contract.hpp"
#include "executor_test_util.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using cf_test::EXCEPTION_FUTURE;
using cf_test::SUCCESSFUL_FUTURE;
using cf_test::what_of;

INSTANTIATE_TYPED_TEST_SUITE_P(AsCompletedTests, AsCompletedTests, cf_contract::LocalExecutors);

namespace {

using FutureSet = std::unordered_set<cf::Future<int>>;
using AnySet = std::unordered_set<cf::AnyFuture>;

constexpr auto kShortTimeout = 30s;  // support.SHORT_TIMEOUT

int mul(int x, int y) { return x * y; }

}  // namespace

// ============================================================================
// AsCompletedCppTests
// ============================================================================

TEST(AsCompletedCppTests, is_an_input_range_of_handles) {
    using R = decltype(cf::as_completed(std::declval<std::vector<cf::Future<int>>&>()));
    static_assert(std::is_same_v<R, cf::AsCompleted<cf::Future<int>>>);
    static_assert(std::ranges::input_range<R>);
    static_assert(std::is_same_v<std::ranges::range_value_t<R>, cf::Future<int>>);
    using A = decltype(cf::as_completed(std::declval<std::vector<cf::AnyFuture>&>(), 1s));
    static_assert(std::is_same_v<std::ranges::range_value_t<A>, cf::AnyFuture>);
    int n = 0;
    for (cf::Future<int> f : cf::as_completed(std::vector{SUCCESSFUL_FUTURE()})) n += f.result();
    EXPECT_EQ(n, 42);
}

TEST(AsCompletedCppTests, done_futures_first_then_completion_order) {
    cf::Future<int> p0, p1, p2;
    auto d = SUCCESSFUL_FUTURE();
    auto range = cf::as_completed(std::vector{p0, p1, d, p2});
    auto it = range.begin();
    ASSERT_NE(it, range.end());
    EXPECT_EQ(*it, d);  // the already-done one, while the others are pending
    p2.set_result(2);
    p0.set_result(0);
    p1.set_result(1);
    std::vector<cf::Future<int>> order;
    for (++it; it != range.end(); ++it) order.push_back(*it);
    EXPECT_EQ(order, (std::vector{p2, p0, p1}));
}

TEST(AsCompletedCppTests, empty_range) {
    int n = 0;
    for (cf::Future<int> f : cf::as_completed(std::vector<cf::Future<int>>{}, 0s)) {
        (void)f;
        ++n;
    }
    for (cf::AnyFuture f : cf::as_completed(std::vector<cf::AnyFuture>{})) {
        (void)f;
        ++n;
    }
    EXPECT_EQ(n, 0);
}

TEST(AsCompletedCppTests, duplicates_collapse) {
    cf::Future<int> p, p2;
    auto d = SUCCESSFUL_FUTURE();
    std::vector<cf::Future<int>> yielded;
    const std::string what = what_of<cf::TimeoutError>([&] {
        for (cf::Future<int> f : cf::as_completed(std::vector{p, p, d, d, p2, p, d}, 0s)) yielded.push_back(f);
    });
    EXPECT_EQ(what, "2 (of 3) futures unfinished");  // M counts distinct futures
    EXPECT_EQ(yielded, std::vector{d});

    // Duplicates through AnyFuture copies and the typed handle they came from.
    p.set_result(1);
    int n = 0;
    for (cf::AnyFuture f : cf::as_completed(std::vector<cf::AnyFuture>{p, cf::AnyFuture(p), d, p})) {
        (void)f;
        ++n;
    }
    EXPECT_EQ(n, 2);
}

TEST(AsCompletedCppTests, timeout_message_after_progress) {
    cf::Future<int> a, b, c;
    auto d = SUCCESSFUL_FUTURE();
    std::vector<cf::Future<int>> yielded;
    std::jthread setter([&] {
        std::this_thread::sleep_for(10ms);
        a.set_result(1);
    });
    const std::string what = what_of<cf::TimeoutError>([&] {
        for (cf::Future<int> f : cf::as_completed(std::vector{a, b, c, d}, 1s)) {
            yielded.push_back(f);
        }
    });
    EXPECT_EQ(what, "2 (of 4) futures unfinished");
    EXPECT_EQ(yielded, (std::vector{d, a}));
}

TEST(AsCompletedCppTests, timeout_counts_from_the_call) {
    cf::Future<int> pending;
    auto d = SUCCESSFUL_FUTURE();
    const auto timeout = 200ms;
    auto range = cf::as_completed(std::vector{pending, d}, timeout);
    std::this_thread::sleep_for(timeout + 50ms);
    auto it = range.begin();  // the done future is still yielded
    ASSERT_NE(it, range.end());
    EXPECT_EQ(*it, d);
    // The deadline has passed already: advancing throws without waiting another `timeout`.
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(++it, cf::TimeoutError);
    EXPECT_LT(std::chrono::steady_clock::now() - start, timeout);
}

TEST(AsCompletedCppTests, mixed_result_types) {
    cf::ThreadPoolExecutor ex(3);
    cf::Future<int> fi = ex.submit(mul, 6, 7);
    cf::Future<std::string> fs = ex.submit([] { return std::string("text"); });
    cf::Future<void> fv = ex.submit([] {});
    AnySet seen;
    for (cf::AnyFuture f : cf::as_completed({fi, fs, fv})) {  // a braced list of different types
        EXPECT_TRUE(f.done());
        seen.insert(f);
    }
    EXPECT_EQ(seen, (AnySet{fi, fs, fv}));

    std::vector<cf::AnyFuture> all{fi, fs, fv, cf::AnyFuture(EXCEPTION_FUTURE<double>())};
    seen.clear();
    for (cf::AnyFuture f : cf::as_completed(all, kShortTimeout)) {
        if (f.result_type() == typeid(int)) {
            EXPECT_EQ(f.as<int>().result(), 42);
        }
        if (f.result_type() == typeid(std::string)) {
            EXPECT_EQ(f.as<std::string>().result(), "text");
        }
        if (f.result_type() == typeid(double)) {
            EXPECT_NE(f.exception(), nullptr);
        }
        seen.insert(f);
    }
    EXPECT_EQ(seen.size(), 4u);

    // Braced lists of one type give typed handles.
    auto g = SUCCESSFUL_FUTURE();
    for (auto f : cf::as_completed({g, g}, 1s)) {
        static_assert(std::is_same_v<decltype(f), cf::Future<int>>);
        EXPECT_EQ(f.result(), 42);
    }
}

TEST(AsCompletedCppTests, any_range) {
    cf::ThreadPoolExecutor ex(2);
    std::list<cf::Future<int>> list;
    for (int i = 0; i < 10; ++i) list.push_back(ex.submit(mul, i, 3));
    const FutureSet set(list.begin(), list.end());
    FutureSet seen;
    for (auto f : cf::as_completed(set)) seen.insert(f);
    EXPECT_EQ(seen, set);
    seen.clear();
    auto filtered = list | std::views::filter([](const cf::Future<int>&) { return true; });
    for (auto f : cf::as_completed(filtered, kShortTimeout)) seen.insert(f);
    EXPECT_EQ(seen, set);
}

TEST(AsCompletedCppTests, keeps_no_reference_to_yielded_futures) {
    // With an executor: once a yielded handle is dropped (and the worker has let go
    // of the task), the future and its result are freed while the iteration goes on.
    cf_test::Event release;  // declared first: outlives the tasks waiting on it
    cf::ThreadPoolExecutor ex(3);
    std::vector<cf::Future<std::shared_ptr<int>>> fs;
    for (int i = 0; i < 6; ++i) fs.push_back(ex.submit([&release, i] {
        release.wait();
        return std::make_shared<int>(i);
    }));
    auto range = cf::as_completed(fs);
    fs.clear();  // only the range refers to the futures now
    release.set();
    int n = 0;
    for (auto it = range.begin(); it != range.end(); ++it) {
        std::weak_ptr<int> wr;
        {
            cf::Future<std::shared_ptr<int>> f = *it;
            wr = f.result();
            EXPECT_FALSE(wr.expired());
        }
        // The worker may still hold the task for a moment after completing it; the range must not.
        EXPECT_TRUE(cf_test::eventually([&] { return wr.expired(); }, 10000ms)) << "future " << n << " kept alive";
        ++n;
    }
    EXPECT_EQ(n, 6);
}

TEST(AsCompletedCppTests, stopping_early_is_safe) {
    // Leaving the loop early, or never starting it, unhooks the range from the futures.
    std::vector<cf::Future<int>> fs(5);
    {
        auto range = cf::as_completed(fs);
        fs[3].set_result(3);
        for (cf::Future<int> f : range) {
            EXPECT_EQ(f, fs[3]);
            break;
        }
    }
    {
        auto range = cf::as_completed(fs, 1h);
        (void)range;
    }
    std::vector<std::jthread> setters;
    for (int i : {0, 1, 2, 4}) setters.emplace_back([&fs, i] { fs[static_cast<std::size_t>(i)].set_result(i); });
    setters.clear();  // join
    for (int i = 0; i < 5; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(), i);
}

TEST(AsCompletedCppTests, huge_timeouts) {
    std::vector<cf::Future<int>> fs(3);
    std::jthread setter([&] {
        for (int i = 0; i < 3; ++i) {
            std::this_thread::sleep_for(10ms);
            fs[static_cast<std::size_t>(i)].set_result(i);
        }
    });
    int n = 0;
    for (auto f : cf::as_completed(fs, std::chrono::hours::max())) n += 1 + f.result();
    EXPECT_EQ(n, 6);
    n = 0;
    for (auto f : cf::as_completed(fs, std::chrono::nanoseconds::max())) n += 1 + f.result();
    EXPECT_EQ(n, 6);
    n = 0;
    for (auto f : cf::as_completed(fs, std::chrono::duration<double>(1e300))) n += 1 + f.result();
    EXPECT_EQ(n, 6);
}

TEST(AsCompletedCppTests, zero_and_negative_timeouts_do_not_block) {
    cf::Future<int> pending;
    auto d = SUCCESSFUL_FUTURE();
    const auto start = std::chrono::steady_clock::now();
    auto check = [&](auto timeout) {
        std::vector<cf::Future<int>> yielded;
        const std::string what = what_of<cf::TimeoutError>([&] {
            for (auto f : cf::as_completed(std::vector{pending, d}, timeout)) yielded.push_back(f);
        });
        EXPECT_EQ(what, "1 (of 2) futures unfinished");
        EXPECT_EQ(yielded, std::vector{d});
    };
    check(0s);
    check(-1s);
    check(std::chrono::hours::min());
    check(std::chrono::nanoseconds::min());
    check(std::chrono::duration<double>(-0.5));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(AsCompletedCppTests, many_tasks_each_yielded_once) {
    cf::ThreadPoolExecutor ex(4);
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 1000; ++i) fs.push_back(ex.submit(mul, i, 1));
    std::vector<int> seen(1000, 0);
    for (auto f : cf::as_completed(fs, kShortTimeout)) ++seen[static_cast<std::size_t>(f.result())];
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
}
