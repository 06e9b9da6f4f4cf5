// A worker's finished reply leaves within about 50 us, whatever call follows it
// (src/worker_runtime/reply_courier.hpp). Replies of calls received together are
// sent together for throughput, so without the courier a reply made just before a
// slow call would wait for that call to end. Not in CPython, whose workers send
// each result as it is made.
//
// Two ways get such a reply out, and each case below takes one: the pool sees the
// worker hold it and pokes its courier (a slow call right after quick ones), or,
// once the pool has stopped watching a worker that ran one long call, the worker's
// own timer (quick calls between two slow ones).
#include <cfutures/cfutures.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "executor_test_util.hpp"
#include "process_test_util.hpp"

using namespace std::chrono_literals;
using cf_test::kLongWait;
using cf_test::ProcessPoolTest;

namespace {

int sleep_ms(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
}

constexpr int kSlowMs = 3000;
/// Far below kSlowMs, far above what 20 empty calls take even under a sanitizer on a
/// loaded machine.
constexpr auto kFastBound = 2s;

class ReplyLatencyTest : public ProcessPoolTest {};

TEST_P(ReplyLatencyTest, finished_replies_leave_while_a_slow_call_of_their_batch_runs) {
    cf::ProcessPoolExecutor pool{options(1)};
    // The worker is up first: its start (an exec under Spawn, on a loaded machine) is not
    // part of the time the fast replies below are given.
    ASSERT_EQ(pool.submit(&sleep_ms, 0).result(kLongWait), 0);
    // Replies keep coming, so the call window is open and the burst below reaches the
    // worker in few writes: the fast calls share a batch with the slow one.
    std::vector<cf::Future<int>> warm;
    for (int i = 0; i < 300; ++i) warm.push_back(pool.submit(&sleep_ms, 0));
    std::vector<cf::Future<int>> fast;
    for (int i = 0; i < 20; ++i) fast.push_back(pool.submit(&sleep_ms, 0));
    auto slow = pool.submit(&sleep_ms, kSlowMs);
    const auto submitted = std::chrono::steady_clock::now();
    for (auto& f : fast) EXPECT_EQ(f.result(kFastBound), 0) << "a finished reply waited behind the slow call";
    EXPECT_LT(std::chrono::steady_clock::now() - submitted, std::chrono::milliseconds(kSlowMs));
    EXPECT_FALSE(slow.done()) << "the slow call ended before the fast replies came: nothing was tested";
    EXPECT_EQ(slow.result(kLongWait), kSlowMs);
    for (auto& f : warm) EXPECT_EQ(f.result(kLongWait), 0);
}

TEST_P(ReplyLatencyTest, replies_made_after_a_slow_call_leave_while_the_next_slow_call_runs) {
    cf::ProcessPoolExecutor pool{options(1)};
    ASSERT_EQ(pool.submit(&sleep_ms, 0).result(kLongWait), 0);
    // The calls go through the manager's socket, not the express lane: quick ones ahead.
    std::vector<cf::Future<int>> warm;
    for (int i = 0; i < 300; ++i) warm.push_back(pool.submit(&sleep_ms, 0));
    // While the first slow call runs the worker holds no reply, so the pool stops watching
    // it. Then one quick call, too quick for the worker to send the replies after it: the
    // two replies must leave on the worker's own timer while the second slow call runs.
    constexpr int kFirstSlowMs = 300;
    auto first_slow = pool.submit(&sleep_ms, kFirstSlowMs);
    auto quick = pool.submit(&sleep_ms, 0);
    auto slow = pool.submit(&sleep_ms, kSlowMs);
    const auto submitted = std::chrono::steady_clock::now();
    const auto bound = kFastBound + std::chrono::milliseconds(kFirstSlowMs);
    EXPECT_EQ(first_slow.result(bound), kFirstSlowMs) << "the first slow call's reply waited behind the second";
    EXPECT_EQ(quick.result(bound), 0) << "the quick call's reply waited behind the slow call";
    EXPECT_LT(std::chrono::steady_clock::now() - submitted, std::chrono::milliseconds(kFirstSlowMs + kSlowMs));
    EXPECT_FALSE(slow.done()) << "the slow call ended before the replies came: nothing was tested";
    EXPECT_EQ(slow.result(kLongWait), kSlowMs);
    for (auto& f : warm) EXPECT_EQ(f.result(kLongWait), 0);
}

INSTANTIATE_TEST_SUITE_P(StartMethod, ReplyLatencyTest, cf_test::kAllStartMethods, cf_test::StartMethodName{});

}  // namespace
