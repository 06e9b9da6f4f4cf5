// CPython's Lib/test/test_concurrent_futures/test_wait.py (WaitTests), written once
// and run on every executor (contract_util.hpp): test_wait.cpp instantiates it for the
// thread pool and the process pool with each start method, tests/mpi/test_mpi.cpp for
// the MPI executors. One case per CPython test, under its name.
//
// Adapted:
//  * Python's event.wait() in a call is wait_for_gate(gate): the call waits until the
//    test opens a gate file (contract_util.hpp), so it works across processes too;
//    Python's `finally: event.set()` is the fixture's TearDown, which opens every gate.
//  * Deliberate difference (API.md): a future cancelled with cancel() counts as done
//    for wait() at once, where Python waits until the executor calls
//    set_running_or_notify_cancel. So CANCELLED_FUTURE, which Python expects in
//    not_done, is in done here:
//      - test_first_completed: CANCELLED_FUTURE makes FIRST_COMPLETED hold at once, so
//        the port waits for future1 first to make the result exact (done =
//        {CANCELLED_FUTURE, future1}); a second wait without it keeps Python's point
//        (the wait returns when future1 completes, and only it).
//      - test_first_exception_some_already_complete: CANCELLED_FUTURE moves from
//        pending to finished.
//  * Python's divmod(21, 0) (ZeroDivisionError) is divide(21, 0), which throws
//    cf_contract::ZeroDivisionError; every call returns int, so that the futures have one type.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "contract_util.hpp"
#include "test_util.hpp"

template <class H>
class WaitTests : public cf_contract::ContractTest<H> {};

TYPED_TEST_SUITE_P(WaitTests);

TYPED_TEST_P(WaitTests, test_20369) {
    // See https://bugs.python.org/issue20369
    using FutureSet = typename TestFixture::FutureSet;
    auto future = this->executor().submit(&cf_contract::mul, 1, 2);
    auto [done, not_done] = cf::wait(std::vector{future, future}, cf::ALL_COMPLETED);
    EXPECT_EQ(done, FutureSet{future});
    EXPECT_EQ(not_done, FutureSet{});
}

TYPED_TEST_P(WaitTests, test_first_completed) {
    using FutureSet = typename TestFixture::FutureSet;
    auto& executor = this->executor();
    const auto event = this->gate();
    auto cancelled = cf_test::CANCELLED_FUTURE();
    auto future1 = executor.submit(&cf_contract::mul, 21, 2);
    auto future2 = executor.submit(&cf_contract::wait_for_gate, event);

    // CANCELLED_FUTURE is done here (see the top of the file): FIRST_COMPLETED
    // holds at once, so let future1 finish first for an exact answer.
    EXPECT_EQ(future1.result(TestFixture::kShortTimeout), 42);
    auto [done, not_done] = cf::wait(std::vector{cancelled, future1, future2}, cf::FIRST_COMPLETED);
    EXPECT_EQ(done, (FutureSet{cancelled, future1}));
    EXPECT_EQ(not_done, FutureSet{future2});

    // Python's case proper, without the cancelled future: the wait returns when
    // future3 completes, and only future3 is done.
    auto future3 = executor.submit(&cf_contract::mul, 21, 2);
    auto r = cf::wait(std::vector{future3, future2}, cf::FIRST_COMPLETED);
    EXPECT_EQ(r.done, FutureSet{future3});
    EXPECT_EQ(r.not_done, FutureSet{future2});

    this->open(event);
    EXPECT_EQ(future2.result(TestFixture::kShortTimeout), 1);  // wait for job to finish
}

TYPED_TEST_P(WaitTests, test_first_completed_some_already_completed) {
    using FutureSet = typename TestFixture::FutureSet;
    const auto event = this->gate();
    auto cancelled_and_notified = cf_test::CANCELLED_AND_NOTIFIED_FUTURE();
    auto successful = cf_test::SUCCESSFUL_FUTURE();
    auto future1 = this->executor().submit(&cf_contract::wait_for_gate, event);

    auto [finished, pending] = cf::wait(std::vector{cancelled_and_notified, successful, future1}, cf::FIRST_COMPLETED);
    EXPECT_EQ(finished, (FutureSet{cancelled_and_notified, successful}));
    EXPECT_EQ(pending, FutureSet{future1});

    this->open(event);
    EXPECT_EQ(future1.result(TestFixture::kShortTimeout), 1);  // wait for job to finish
}

TYPED_TEST_P(WaitTests, test_first_exception) {
    using FutureSet = typename TestFixture::FutureSet;
    auto& executor = this->executor();
    const auto event1 = this->gate("event1");
    const auto event2 = this->gate("event2");
    auto future1 = executor.submit(&cf_contract::mul, 2, 21);
    auto future2 = executor.submit(&cf_contract::wait_for_gate_and_raise, event1);
    auto future3 = executor.submit(&cf_contract::wait_for_gate, event2);

    // Ensure that future1 is completed before future2 finishes.
    std::jthread t([&] {
        (void)future1.result();
        this->open(event1);
    });

    auto [finished, pending] = cf::wait(std::vector{future1, future2, future3}, cf::FIRST_EXCEPTION);
    EXPECT_EQ(finished, (FutureSet{future1, future2}));
    EXPECT_EQ(pending, FutureSet{future3});
    EXPECT_EQ(cf_test::what_of<std::runtime_error>(future2), "this is an exception");

    t.join();
    this->open(event2);
    EXPECT_EQ(future3.result(TestFixture::kShortTimeout), 1);  // wait for job to finish
}

TYPED_TEST_P(WaitTests, test_first_exception_some_already_complete) {
    using FutureSet = typename TestFixture::FutureSet;
    auto& executor = this->executor();
    const auto event = this->gate();
    auto successful = cf_test::SUCCESSFUL_FUTURE();
    auto cancelled = cf_test::CANCELLED_FUTURE();
    auto cancelled_and_notified = cf_test::CANCELLED_AND_NOTIFIED_FUTURE();
    auto future1 = executor.submit(&cf_contract::divide, 21, 0);
    auto future2 = executor.submit(&cf_contract::wait_for_gate, event);

    auto [finished, pending] =
        cf::wait(std::vector{successful, cancelled, cancelled_and_notified, future1, future2}, cf::FIRST_EXCEPTION);
    // Python: CANCELLED_FUTURE is pending. Here a cancelled future is done (and did not raise).
    EXPECT_EQ(finished, (FutureSet{successful, cancelled, cancelled_and_notified, future1}));
    EXPECT_EQ(pending, FutureSet{future2});
    EXPECT_THROW((void)future1.result(), cf_contract::ZeroDivisionError);

    this->open(event);
    EXPECT_EQ(future2.result(TestFixture::kShortTimeout), 1);  // wait for job to finish
}

TYPED_TEST_P(WaitTests, test_first_exception_one_already_failed) {
    using FutureSet = typename TestFixture::FutureSet;
    const auto event = this->gate();
    auto exception_future = cf_test::EXCEPTION_FUTURE();
    auto future1 = this->executor().submit(&cf_contract::wait_for_gate, event);

    auto [finished, pending] = cf::wait(std::vector{exception_future, future1}, cf::FIRST_EXCEPTION);
    EXPECT_EQ(finished, FutureSet{exception_future});
    EXPECT_EQ(pending, FutureSet{future1});

    this->open(event);
    EXPECT_EQ(future1.result(TestFixture::kShortTimeout), 1);  // wait for job to finish
}

TYPED_TEST_P(WaitTests, test_all_completed) {
    using FutureSet = typename TestFixture::FutureSet;
    auto& executor = this->executor();
    auto successful = cf_test::SUCCESSFUL_FUTURE();
    auto cancelled_and_notified = cf_test::CANCELLED_AND_NOTIFIED_FUTURE();
    auto exception_future = cf_test::EXCEPTION_FUTURE();
    auto future1 = executor.submit(&cf_contract::divide, 2, 0);
    auto future2 = executor.submit(&cf_contract::mul, 2, 21);

    auto [finished, pending] = cf::wait(
        std::vector{successful, cancelled_and_notified, exception_future, future1, future2}, cf::ALL_COMPLETED);
    EXPECT_EQ(finished, (FutureSet{successful, cancelled_and_notified, exception_future, future1, future2}));
    EXPECT_EQ(pending, FutureSet{});
    EXPECT_EQ(future2.result(), 42);
    EXPECT_THROW((void)future1.result(), cf_contract::ZeroDivisionError);
}

TYPED_TEST_P(WaitTests, test_timeout) {
    using FutureSet = typename TestFixture::FutureSet;
    const auto short_timeout = std::chrono::milliseconds(50);
    const auto event = this->gate();
    auto cancelled_and_notified = cf_test::CANCELLED_AND_NOTIFIED_FUTURE();
    auto exception_future = cf_test::EXCEPTION_FUTURE();
    auto successful = cf_test::SUCCESSFUL_FUTURE();
    auto future = this->executor().submit(&cf_contract::wait_for_gate, event);

    const auto start = std::chrono::steady_clock::now();
    auto [finished, pending] = cf::wait(std::vector{cancelled_and_notified, exception_future, successful, future},
                                        short_timeout, cf::ALL_COMPLETED);
    EXPECT_GE(std::chrono::steady_clock::now() - start, short_timeout);
    EXPECT_EQ(finished, (FutureSet{cancelled_and_notified, exception_future, successful}));
    EXPECT_EQ(pending, FutureSet{future});

    this->open(event);
    EXPECT_EQ(future.result(TestFixture::kShortTimeout), 1);  // wait for job to finish
}

REGISTER_TYPED_TEST_SUITE_P(WaitTests, test_20369, test_first_completed, test_first_completed_some_already_completed,
                            test_first_exception, test_first_exception_some_already_complete,
                            test_first_exception_one_already_failed, test_all_completed, test_timeout);
