// CPython's Lib/test/test_concurrent_futures/test_as_completed.py (AsCompletedTests),
// written once and run on every executor (contract_util.hpp): test_as_completed.cpp
// instantiates it for the thread pool and the process pool with each start method,
// tests/mpi/test_mpi.cpp for the MPI executors. One case per CPython test, under its name.
//
// Adapted:
//  * test_future_times_out: the future that must not complete in time waits for a
//    gate (contract_util.hpp), opened after each subtest, instead of sleeping 1 s.
//  * test_duplicate_futures: the future waits for a gate opened after as_completed()
//    is called (Python sleeps 2 s); itertools.repeat(f, 3) is a transform view
//    yielding f three times (an arbitrary range).
//  * test_free_reference_yielded_future: Python checks with weakref that the generator
//    drops a future once yielded. A C++ future cannot be watched by a weak reference,
//    but its result can: the futures hold shared_ptr<int> results and a std::weak_ptr
//    to each result must expire once the test drops its own handle. The cancelled
//    future has no result to watch. (Like Python's, it uses no executor.)
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <ranges>
#include <string>
#include <unordered_set>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "contract_util.hpp"
#include "test_util.hpp"

template <class H>
class AsCompletedTests : public cf_contract::ContractTest<H> {};

TYPED_TEST_SUITE_P(AsCompletedTests);

TYPED_TEST_P(AsCompletedTests, test_no_timeout) {
    using FutureSet = typename TestFixture::FutureSet;
    auto future1 = this->executor().submit(&cf_contract::mul, 2, 21);
    auto future2 = this->executor().submit(&cf_contract::mul, 7, 6);
    auto cancelled_and_notified = cf_test::CANCELLED_AND_NOTIFIED_FUTURE();
    auto exception_future = cf_test::EXCEPTION_FUTURE();
    auto successful = cf_test::SUCCESSFUL_FUTURE();

    FutureSet completed;
    int yielded = 0;
    for (cf::Future<int> f :
         cf::as_completed(std::vector{cancelled_and_notified, exception_future, successful, future1, future2})) {
        EXPECT_TRUE(f.done());
        completed.insert(f);
        ++yielded;
    }
    EXPECT_EQ(completed, (FutureSet{cancelled_and_notified, exception_future, successful, future1, future2}));
    EXPECT_EQ(yielded, 5);
    EXPECT_EQ(future1.result() + future2.result(), 84);
}

TYPED_TEST_P(AsCompletedTests, test_future_times_out) {
    // Test as_completed timing out before completing its final future.
    using FutureSet = typename TestFixture::FutureSet;
    const FutureSet already_completed{cf_test::CANCELLED_AND_NOTIFIED_FUTURE(), cf_test::EXCEPTION_FUTURE(),
                                      cf_test::SUCCESSFUL_FUTURE()};
    const auto short_timeout = std::chrono::milliseconds(100);
    for (auto timeout : {std::chrono::milliseconds(0), short_timeout}) {
        SCOPED_TRACE("timeout " + std::to_string(timeout.count()) + " ms");
        const auto never_in_time = this->gate("gate" + std::to_string(timeout.count()));
        FutureSet completed_futures;
        auto future = this->executor().submit(&cf_contract::wait_for_gate, never_in_time);

        FutureSet all = already_completed;
        all.insert(future);
        bool timed_out = false;
        const auto start = std::chrono::steady_clock::now();
        try {
            for (cf::Future<int> f : cf::as_completed(all, timeout)) completed_futures.insert(f);
        } catch (const cf::TimeoutError&) {
            timed_out = true;
        }
        EXPECT_TRUE(timed_out);
        EXPECT_GE(std::chrono::steady_clock::now() - start, timeout);

        // Check that `future` wasn't completed.
        EXPECT_EQ(completed_futures, already_completed);
        this->open(never_in_time);
        EXPECT_EQ(future.result(TestFixture::kShortTimeout), 1);
    }
}

TYPED_TEST_P(AsCompletedTests, test_duplicate_futures) {
    // Issue 20367. Duplicate futures should not raise exceptions or give
    // duplicate responses.
    // Issue #31641: accept arbitrary iterables.
    const auto event = this->gate();
    auto future1 = this->executor().submit(&cf_contract::wait_for_gate, event);
    auto repeat3 = std::views::iota(0, 3) | std::views::transform([&](int) { return future1; });
    auto range = cf::as_completed(repeat3);  // future1 is still pending here
    this->open(event);
    std::vector<cf::Future<int>> completed;
    for (cf::Future<int> f : range) completed.push_back(f);
    ASSERT_EQ(completed.size(), 1u);
    EXPECT_EQ(completed[0], future1);
}

TYPED_TEST_P(AsCompletedTests, test_free_reference_yielded_future) {
    // Issue #14406: the range should not keep references to finished futures.
    using P = std::shared_ptr<int>;
    std::vector<cf::Future<P>> futures_list(8);  // 8 new, pending futures
    futures_list.push_back(cf_test::create_future<P>(cf_test::State::CANCELLED_AND_NOTIFIED));
    futures_list.push_back(cf_test::create_finished_future(std::make_shared<int>(42)));
    auto remove = [&](const cf::Future<P>& f) {
        auto it = std::find(futures_list.begin(), futures_list.end(), f);
        ASSERT_NE(it, futures_list.end());
        futures_list.erase(it);
    };

    int yielded = 0;
    bool timed_out = false;
    try {
        auto range = cf::as_completed(futures_list, std::chrono::seconds(0));
        for (auto it = range.begin(); it != range.end(); ++it) {
            std::weak_ptr<int> wr;
            bool has_result = false;
            {
                cf::Future<P> future = *it;
                remove(future);
                if (!future.cancelled()) {
                    wr = future.result();
                    has_result = true;
                }
            }  // del future
            if (has_result) {
                EXPECT_TRUE(wr.expired());
            }
            ++yielded;
        }
    } catch (const cf::TimeoutError&) {
        timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(yielded, 2);
    ASSERT_EQ(futures_list.size(), 8u);

    futures_list[0].set_result(std::make_shared<int>(0));
    yielded = 0;
    auto range = cf::as_completed(futures_list);
    for (auto it = range.begin(); it != range.end(); ++it) {
        std::weak_ptr<int> wr;
        {
            cf::Future<P> future = *it;
            remove(future);
            wr = future.result();
        }  // del future
        EXPECT_TRUE(wr.expired());
        ++yielded;
        if (!futures_list.empty()) futures_list[0].set_result(std::make_shared<int>(yielded));
    }
    EXPECT_EQ(yielded, 8);
    EXPECT_TRUE(futures_list.empty());
}

TYPED_TEST_P(AsCompletedTests, test_correct_timeout_exception_msg) {
    std::vector futures_list{cf_test::CANCELLED_AND_NOTIFIED_FUTURE(), cf_test::PENDING_FUTURE(),
                             cf_test::RUNNING_FUTURE(), cf_test::SUCCESSFUL_FUTURE()};
    const std::string what = cf_test::what_of<cf::TimeoutError>([&] {
        std::vector<cf::Future<int>> all;
        for (cf::Future<int> f : cf::as_completed(futures_list, std::chrono::seconds(0))) all.push_back(f);  // list(...)
    });
    EXPECT_EQ(what, "2 (of 4) futures unfinished");
}

REGISTER_TYPED_TEST_SUITE_P(AsCompletedTests, test_no_timeout, test_future_times_out, test_duplicate_futures,
                            test_free_reference_yielded_future, test_correct_timeout_exception_msg);
