// The process pool's express lane (src/process/express_lane.hpp): a call submitted
// to an idle worker travels through shared memory, and the thread waiting for it
// takes the reply itself. Not in CPython. These tests drive each way a lane call
// can end: taken by its waiter, taken by the manager when nobody waits, too big
// for the lane, its worker killed, the pool shut down under it.
#include <cfutures/cfutures.hpp>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>
#include <string>
#include <thread>
#include <vector>

#include "executor_test_util.hpp"
#include "process_test_util.hpp"

using namespace std::chrono_literals;
using cf_test::eventually;
using cf_test::kLongWait;
using cf_test::ProcessPoolTest;
using cf_test::touch;
using cf_test::wait_for_file;

namespace {

/// What a lane holds (express::kCapacity in src/process/express_lane.hpp); a call or a
/// reply of this many payload bytes no longer fits, with its few bytes of encoding.
constexpr std::size_t kLaneBytes = 4 * 1024 * 1024 - 256;

int twice(int x) { return 2 * x; }
pid_t worker_pid() { return ::getpid(); }

/// A string of `n` bytes that says where each byte was: lost or shifted bytes show.
std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    return s;
}
std::string make_pattern(std::size_t n) { return pattern(n); }
std::size_t length_of(std::string s) { return s == pattern(s.size()) ? s.size() : 0; }

/// Writes `started`, then waits for `gate` (at most kWorkerWait); returns x.
int start_then_wait(int x, std::string started, std::string gate) {
    touch(started);
    cf_test::wait_for_file(gate, cf_test::kWorkerWait);
    return x;
}

class ProcessExpressLaneTest : public ProcessPoolTest {
protected:
    /// Starts the workers before a test starts threads of its own: with Fork they are forked
    /// at the first submit, and a thread of the test inside GCC 12's ThreadSanitizer
    /// allocator at that moment (it is not fork-safe) would leave a worker blocked forever.
    void start_workers() { ASSERT_EQ(executor.submit(&twice, 0).result(kLongWait), 0); }
};

TEST_P(ProcessExpressLaneTest, round_trips_on_an_idle_pool_return_every_value) {
    for (int i = 0; i < 2000; ++i) ASSERT_EQ(executor.submit(&twice, i).result(kLongWait), 2 * i);
    EXPECT_LE(executor.worker_pids().size(), static_cast<std::size_t>(worker_count));
}

TEST_P(ProcessExpressLaneTest, a_reply_nobody_waits_for_reaches_the_future_through_the_manager) {
    // Nobody spins in result(): the worker tells the manager, which completes the future.
    std::atomic<int> callbacks{0};
    auto f = executor.submit(&twice, 21);
    f.add_done_callback([&](const cf::Future<int>&) { ++callbacks; });
    EXPECT_TRUE(eventually([&] { return f.done(); })) << "the reply stayed in the lane";
    EXPECT_EQ(f.result(0s), 42);
    EXPECT_EQ(callbacks.load(), 1);
    // And the lane is free again for the next call.
    EXPECT_EQ(executor.submit(&twice, 5).result(kLongWait), 10);
}

TEST_P(ProcessExpressLaneTest, replies_too_big_for_the_lane_arrive_whole) {
    // Bigger replies than the lane holds follow on the socket, waited for or not.
    for (std::size_t n : {std::size_t{0}, kLaneBytes - 4096, kLaneBytes, kLaneBytes + 2'000'000}) {
        EXPECT_EQ(executor.submit(&make_pattern, n).result(kLongWait), pattern(n)) << n << " bytes, waited for";
        auto later = executor.submit(&make_pattern, n);
        EXPECT_TRUE(eventually([&] { return later.done(); })) << n << " bytes";
        EXPECT_EQ(later.result(0s), pattern(n)) << n << " bytes, not waited for";
    }
}

TEST_P(ProcessExpressLaneTest, calls_too_big_for_the_lane_go_through_the_socket) {
    for (std::size_t n : {kLaneBytes - 4096, kLaneBytes, kLaneBytes + 2'000'000})
        EXPECT_EQ(executor.submit(&length_of, pattern(n)).result(kLongWait), n);
}

TEST_P(ProcessExpressLaneTest, a_timed_out_wait_leaves_the_lane_call_running) {
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    auto f = executor.submit(&start_then_wait, 7, started, gate);
    ASSERT_TRUE(wait_for_file(started));
    EXPECT_THROW(f.result(20ms), cf::TimeoutError);
    EXPECT_TRUE(f.running());
    touch(gate);
    EXPECT_EQ(f.result(kLongWait), 7);
}

TEST_P(ProcessExpressLaneTest, a_worker_killed_during_a_lane_call_breaks_the_pool) {
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    const pid_t pid = executor.submit(&worker_pid).result(kLongWait);
    auto f = executor.submit(&start_then_wait, 1, started, gate);
    ASSERT_TRUE(wait_for_file(started));
    for (pid_t p : executor.worker_pids()) ::kill(p, SIGKILL);
    EXPECT_THROW(f.result(kLongWait), cf::BrokenProcessPool);
    EXPECT_THROW((void)executor.submit(&twice, 1), cf::BrokenProcessPool);
    EXPECT_TRUE(cf_test::wait_reaped(pid));
}

TEST_P(ProcessExpressLaneTest, a_worker_killed_while_nobody_waits_fails_the_future) {
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    auto f = executor.submit(&start_then_wait, 1, started, gate);
    ASSERT_TRUE(wait_for_file(started));
    executor.kill_workers();
    EXPECT_TRUE(eventually([&] { return f.done(); })) << "the lane call was not failed";
    EXPECT_THROW(f.result(0s), cf::BrokenProcessPool);
}

TEST_P(ProcessExpressLaneTest, shutdown_waits_for_a_lane_call_nobody_waits_for) {
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    auto f = executor.submit(&start_then_wait, 3, started, gate);
    ASSERT_TRUE(wait_for_file(started));
    std::thread opener([&] {
        std::this_thread::sleep_for(50ms);
        touch(gate);
    });
    executor.shutdown(/*wait=*/true);
    opener.join();
    ASSERT_TRUE(f.done());
    EXPECT_EQ(f.result(0s), 3);
}

TEST_P(ProcessExpressLaneTest, threads_doing_round_trips_together_each_get_their_own_results) {
    // More callers than workers, and bulk submits beside them: lanes are claimed,
    // revoked and offered again all the time.
    start_workers();
    constexpr int kThreads = 4;
    constexpr int kRounds = 300;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRounds; ++i) {
                const int x = t * 100'000 + i;
                if (executor.submit(&twice, x).result(kLongWait) != 2 * x) ++wrong;
            }
        });
    }
    std::vector<cf::Future<int>> bulk;
    for (int i = 0; i < 3000; ++i) bulk.push_back(executor.submit(&twice, -i));
    for (auto& t : threads) t.join();
    for (int i = 0; i < 3000; ++i) EXPECT_EQ(bulk[static_cast<std::size_t>(i)].result(kLongWait), -2 * i);
    EXPECT_EQ(wrong.load(), 0);
}

TEST_P(ProcessExpressLaneTest, calls_queued_for_a_busy_pool_are_not_overtaken) {
    // One worker, busy: later calls wait in order, none jumps the queue through a lane.
    cf::ProcessPoolExecutor one(options(1));
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    auto first = one.submit(&start_then_wait, 0, started, gate);
    ASSERT_TRUE(wait_for_file(started));
    const auto log = dir.file("log");
    std::vector<cf::Future<void>> fs;
    for (int i = 0; i < 20; ++i) {
        fs.push_back(one.submit([](std::string path, int i) { cf_test::append_line(path, std::to_string(i)); }, log, i));
    }
    touch(gate);
    for (auto& f : fs) f.result(kLongWait);
    const auto lines = cf_test::read_lines(log);
    ASSERT_EQ(lines.size(), 20u);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(lines[static_cast<std::size_t>(i)], std::to_string(i));
}

TEST_P(ProcessExpressLaneTest, a_lane_call_is_running_at_once_and_cannot_be_cancelled) {
    // It went straight to a worker, as a call the manager has sent.
    // The first calls of a pool go through the manager (the workers and their lanes are
    // not up yet), and it offers a lane once it has taken the previous reply: retry until
    // a call is running as submit returns.
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    std::optional<cf::Future<int>> f;
    for (int attempt = 0; attempt < 500 && !f; ++attempt) {
        ASSERT_EQ(executor.submit(&twice, 1).result(kLongWait), 2);
        auto g = executor.submit(&start_then_wait, 4, started, gate);
        if (g.running() || !g.cancel()) f = g;
        else std::this_thread::sleep_for(2ms);
    }
    ASSERT_TRUE(f) << "no call was running as submit returned";
    EXPECT_FALSE(f->cancel());
    EXPECT_TRUE(f->running());
    touch(gate);
    EXPECT_EQ(f->result(kLongWait), 4);
    EXPECT_FALSE(f->cancelled());
}

TEST_P(ProcessExpressLaneTest, several_threads_waiting_for_one_lane_call_all_get_its_value) {
    const auto started = dir.file("started");
    const auto gate = dir.file("gate");
    auto f = executor.submit(&start_then_wait, 9, started, gate);
    std::atomic<int> right{0};
    std::vector<std::thread> waiters;
    for (int t = 0; t < 4; ++t) {
        waiters.emplace_back([&] {
            if (f.result(kLongWait) == 9) ++right;
        });
    }
    ASSERT_TRUE(wait_for_file(started));
    std::this_thread::sleep_for(1ms);  // let some of them spin, others park
    touch(gate);
    for (auto& t : waiters) t.join();
    EXPECT_EQ(right.load(), 4);
}

TEST_P(ProcessExpressLaneTest, as_completed_and_wait_see_lane_calls_finish) {
    // Neither spins in result(): the manager completes these futures.
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 20; ++i) {
        fs.push_back(executor.submit(&twice, i));
        std::this_thread::sleep_for(1ms);  // the pool is idle again: the next one takes a lane
    }
    int sum = 0;
    for (cf::Future<int> f : cf::as_completed(fs, kLongWait)) sum += f.result(0s);
    EXPECT_EQ(sum, 2 * (19 * 20 / 2));
    auto extra = executor.submit(&twice, 100);
    const auto [done, not_done] = cf::wait(std::vector{extra}, kLongWait, cf::ALL_COMPLETED);
    EXPECT_EQ(done.size(), 1u);
    EXPECT_TRUE(not_done.empty());
    EXPECT_EQ(extra.result(0s), 200);
}

/// Sleeps `us` microseconds, then returns it.
int nap(int us) {
    std::this_thread::sleep_for(std::chrono::microseconds(us));
    return us;
}

/// One thread's mix of everything a caller does, for the stress tests below: round trips,
/// calls nobody waits for yet, short naps, cancels, chunked maps. Checks every value it
/// gets; a call may also end in BrokenProcessPool (when the test breaks the pool) or be
/// cancelled.
void mixed_calls(cf::ProcessPoolExecutor& ex, int seed, int rounds, std::atomic<int>& wrong) {
    unsigned state = static_cast<unsigned>(seed) * 2654435761u + 1;
    auto next = [&] { return (state = state * 1103515245u + 12345u) >> 16; };
    std::vector<std::pair<cf::Future<int>, int>> later;
    auto check = [&](cf::Future<int>& f, int expected) {
        try {
            if (f.result(kLongWait) != expected) ++wrong;
        } catch (const cf::CancelledError&) {
        } catch (const cf::BrokenProcessPool&) {
        }
    };
    try {
        for (int i = 0; i < rounds; ++i) {
            const int x = seed * 1'000'000 + i;
            switch (next() % 6) {
                case 0:
                case 1: {
                    auto f = ex.submit(&twice, x);
                    check(f, 2 * x);
                    break;
                }
                case 2: later.emplace_back(ex.submit(&twice, x), 2 * x); break;
                case 3: later.emplace_back(ex.submit(&nap, static_cast<int>(next() % 300)), -1); break;
                case 4: {
                    auto f = ex.submit(&nap, 200);
                    f.cancel();  // cancelled if still queued; a lane call is running already
                    later.emplace_back(f, 200);
                    break;
                }
                case 5: {
                    std::vector<int> in(static_cast<std::size_t>(next() % 50));
                    for (std::size_t k = 0; k < in.size(); ++k) in[k] = static_cast<int>(k);
                    std::size_t k = 0;
                    for (int y : ex.map(&twice, in, cf::MapOptions{.chunksize = 1 + next() % 8})) {
                        if (y != 2 * in[k++]) ++wrong;
                    }
                    if (k != in.size()) ++wrong;
                    break;
                }
            }
        }
    } catch (const cf::BrokenProcessPool&) {
        // submit or map after the pool broke
    }
    for (auto& [f, expected] : later) {
        if (expected >= 0) {
            check(f, expected);
        } else {
            try {
                (void)f.result(kLongWait);
            } catch (const cf::BrokenProcessPool&) {
            }
        }
        if (!f.done()) ++wrong;
    }
}

/// Runs mixed_calls on three threads while `meanwhile` runs on this one; returns how many
/// values were wrong. `after_shutdown`: a thread may end on submit's refusal after shutdown.
int run_mixed_callers(cf::ProcessPoolExecutor& ex, const std::function<void()>& meanwhile, bool after_shutdown) {
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 1; t <= 3; ++t) {
        threads.emplace_back([&, t] {
            try {
                mixed_calls(ex, t, 400, wrong);
            } catch (const std::runtime_error&) {
                if (!after_shutdown) throw;  // submit after shutdown, the only one expected
            }
        });
    }
    meanwhile();
    for (auto& t : threads) t.join();
    return wrong.load();
}

TEST_P(ProcessExpressLaneTest, stress_mixed_calls_from_several_threads) {
    start_workers();
    EXPECT_EQ(run_mixed_callers(executor, [] {}, /*after_shutdown=*/false), 0);
}

TEST_P(ProcessExpressLaneTest, stress_mixed_calls_while_a_worker_is_killed) {
    // Every future ends, with its value or BrokenProcessPool; nothing hangs.
    start_workers();
    const auto kill_one = [&] {
        std::this_thread::sleep_for(20ms);
        const auto pids = executor.worker_pids();
        if (!pids.empty()) ::kill(pids.front(), SIGKILL);
    };
    EXPECT_EQ(run_mixed_callers(executor, kill_one, /*after_shutdown=*/false), 0);
}

TEST_P(ProcessExpressLaneTest, stress_mixed_calls_then_shutdown_from_another_thread) {
    // Submits racing shutdown(cancel_futures=true) are refused or end; none is lost.
    start_workers();
    const auto shut_down = [&] {
        std::this_thread::sleep_for(20ms);
        executor.shutdown(/*wait=*/true, /*cancel_futures=*/true);
    };
    EXPECT_EQ(run_mixed_callers(executor, shut_down, /*after_shutdown=*/true), 0);
}

INSTANTIATE_TEST_SUITE_P(StartMethod, ProcessExpressLaneTest, cf_test::kAllStartMethods, cf_test::StartMethodName{});

}  // namespace
