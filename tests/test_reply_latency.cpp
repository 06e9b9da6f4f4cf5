// A worker's finished reply leaves within about 50 us, whatever call follows it
// (src/worker_runtime/reply_courier.hpp). Replies of calls received together are
// sent together for throughput, so without the courier a reply made just before a
// slow call would wait for that call to end. Not in CPython, whose workers send
// each result as it is made.
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

INSTANTIATE_TEST_SUITE_P(StartMethod, ReplyLatencyTest, cf_test::kAllStartMethods, cf_test::StartMethodName{});

}  // namespace
