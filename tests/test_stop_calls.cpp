// API.md, "Beyond Python: stopping calls", on the thread pool and on futures no
// executor runs: CallOptions::timeout, MapOptions::call_timeout, request_stop() and
// std::stop_token callables. (The process pool's side: test_process_stop.cpp.)
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "executor_test_util.hpp"

using namespace std::chrono_literals;

namespace {

/// Runs until its token is asked to stop (or 30 s pass: a bug, not a hang), then returns n.
int run_until_stopped(std::stop_token token, int n) {
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (!token.stop_requested() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
    return token.stop_requested() ? n : -1;
}

std::string timeout_message(const cf::Future<int>& f) {
    try {
        f.result();
    } catch (const cf::TimeoutError& e) {
        return e.what();
    }
    return "no TimeoutError";
}

}  // namespace

TEST(StopCallsTest, request_stop_of_a_future_no_executor_runs_is_cancel) {
    cf::Future<int> f;
    EXPECT_TRUE(f.request_stop());
    EXPECT_TRUE(f.cancelled());
    cf::Future<int> running;
    ASSERT_TRUE(running.set_running_or_notify_cancel());
    EXPECT_FALSE(running.request_stop());
    EXPECT_TRUE(running.running());
    running.set_result(3);
    EXPECT_FALSE(running.request_stop());
    EXPECT_EQ(running.result(), 3);
    cf::AnyFuture any = f;
    EXPECT_TRUE(any.request_stop());
}

TEST(StopCallsTest, request_stop_cancels_a_pending_call) {
    cf::ThreadPoolExecutor ex(1);
    std::latch release(1);
    auto blocker = ex.submit([&release] { release.wait(); });
    auto queued = ex.submit([] { return 1; });
    EXPECT_TRUE(queued.request_stop());
    EXPECT_TRUE(queued.cancelled());
    release.count_down();
    blocker.result();
    EXPECT_THROW(queued.result(), cf::CancelledError);
}

TEST(StopCallsTest, a_running_call_that_takes_a_token_is_asked_to_stop) {
    cf::ThreadPoolExecutor ex(2);
    auto f = ex.submit(&run_until_stopped, 7);
    while (!f.running()) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(f.request_stop());
    EXPECT_EQ(f.result(), 7);  // the future ends as the call does
    cf::AnyFuture any = f;
    EXPECT_FALSE(any.request_stop());  // done: as cancel()
}

TEST(StopCallsTest, a_lambda_that_takes_a_token_first_is_given_one) {
    cf::ThreadPoolExecutor ex(1);
    std::atomic<bool> began{false};
    auto f = ex.submit(
        [&began](std::stop_token token, int a, int b) {
            began = true;
            while (!token.stop_requested()) std::this_thread::sleep_for(1ms);
            return a + b;
        },
        2, 3);
    while (!began) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(f.request_stop());
    EXPECT_EQ(f.result(), 5);
}

TEST(StopCallsTest, a_running_call_without_a_token_cannot_be_stopped) {
    cf::ThreadPoolExecutor ex(1);
    std::latch release(1);
    std::atomic<bool> began{false};
    auto f = ex.submit([&] {
        began = true;
        release.wait();
        return 4;
    });
    while (!began) std::this_thread::sleep_for(1ms);
    EXPECT_FALSE(f.request_stop());
    EXPECT_FALSE(f.done());
    release.count_down();
    EXPECT_EQ(f.result(), 4);
}

TEST(StopCallsTest, a_timeout_fails_the_future_while_the_call_keeps_its_thread) {
    cf::ThreadPoolExecutor ex(1);
    std::latch release(1);
    std::atomic<bool> returned{false};
    auto f = ex.submit(cf::CallOptions{.timeout = 50ms}, [&] {
        release.wait();
        returned = true;
        return 1;
    });
    EXPECT_THROW(f.result(cf_test::kLongWait), cf::TimeoutError);
    EXPECT_FALSE(returned);  // failed at its deadline, not when it returned
    EXPECT_NE(timeout_message(f).find("the call ran longer than its limit of 50 ms"), std::string::npos)
        << timeout_message(f);
    release.count_down();
    // The pool lives on; the call's own result was dropped.
    EXPECT_EQ(ex.submit([] { return 2; }).result(), 2);
    EXPECT_TRUE(returned);
    EXPECT_THROW(f.result(), cf::TimeoutError);
}

TEST(StopCallsTest, a_timeout_asks_the_token_to_stop) {
    cf::ThreadPoolExecutor ex(1);
    std::atomic<int> outcome{0};
    auto f = ex.submit(cf::CallOptions{.timeout = 30ms}, [&outcome](std::stop_token token) {
        outcome = run_until_stopped(token, 1);
        return outcome.load();
    });
    EXPECT_THROW(f.result(), cf::TimeoutError);
    ex.shutdown(true);
    EXPECT_EQ(outcome.load(), 1);
}

TEST(StopCallsTest, the_clock_starts_when_the_call_begins_not_while_it_waits) {
    cf::ThreadPoolExecutor ex(1);
    auto slow = ex.submit([] { std::this_thread::sleep_for(300ms); });
    auto quick = ex.submit(cf::CallOptions{.timeout = 200ms}, [] { return 5; });
    slow.result();
    EXPECT_EQ(quick.result(), 5);
}

TEST(StopCallsTest, a_call_that_returns_in_time_keeps_its_result) {
    cf::ThreadPoolExecutor ex(2);
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 200; ++i) fs.push_back(ex.submit(cf::CallOptions{.timeout = 10s}, [i] { return i; }));
    for (int i = 0; i < 200; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(), i);
}

TEST(StopCallsTest, a_timeout_not_greater_than_zero_is_refused_by_the_call_given_it) {
    cf::ThreadPoolExecutor ex(1);
    EXPECT_THROW(ex.submit(cf::CallOptions{.timeout = 0ms}, [] { return 1; }), std::invalid_argument);
    EXPECT_THROW(ex.submit(cf::CallOptions{.timeout = -1s}, [] { return 1; }), std::invalid_argument);
    std::vector<int> xs{1, 2};
    EXPECT_THROW((void)ex.map([](int x) { return x; }, xs, cf::MapOptions{.call_timeout = 0ns}), std::invalid_argument);
    try {
        ex.submit(cf::CallOptions{.timeout = 0ms}, [] { return 1; });
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("timeout must be greater than zero"), std::string::npos) << e.what();
    }
}

TEST(StopCallsTest, map_gives_tokens_and_times_each_call) {
    cf::ThreadPoolExecutor ex(2);
    std::vector<int> xs{0, 1, 2, 3};
    auto r = ex.map(
        [](std::stop_token token, int x) {
            if (x == 2) return run_until_stopped(token, 100);  // stopped by its timeout
            return x;
        },
        xs, cf::MapOptions{.call_timeout = 50ms});
    std::vector<int> got;
    int timeouts = 0;
    for (auto it = r.begin(); it != r.end(); ++it) {
        try {
            got.push_back(*it);
        } catch (const cf::TimeoutError& e) {
            ++timeouts;
            EXPECT_NE(std::string(e.what()).find("limit of 50 ms"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(got, (std::vector<int>{0, 1, 3}));
    EXPECT_EQ(timeouts, 1);
}

// request_stop racing completion, cancel and a timeout: every future ends exactly once,
// and its callbacks fire once.
TEST(StopCallsTest, every_future_ends_once_whatever_races) {
    cf::ThreadPoolExecutor ex(2);
    std::atomic<int> fired{0};
    std::vector<cf::Future<int>> fs;
    constexpr int kCalls = 400;
    for (int i = 0; i < kCalls; ++i) {
        cf::Future<int> f = i % 2 ? ex.submit(cf::CallOptions{.timeout = 1ms},
                                              [i](std::stop_token t) {
                                                  if (i % 4 == 1) std::this_thread::sleep_for(2ms);
                                                  return t.stop_requested() ? -i : i;
                                              })
                                  : ex.submit([i] { return i; });
        f.add_done_callback([&fired](const cf::Future<int>&) { ++fired; });
        fs.push_back(f);
        if (i % 3 == 0) f.request_stop();
        if (i % 5 == 0) f.cancel();
    }
    ex.shutdown(true);
    for (auto& f : fs) {
        EXPECT_TRUE(f.done());
        EXPECT_FALSE(f.running());
    }
    EXPECT_EQ(fired.load(), kCalls);
}
