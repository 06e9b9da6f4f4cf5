// Future::then, rule by rule (API.md, "Beyond Python: composing and awaiting
// futures"): value and future continuations, skipping on error and
// cancellation, exceptions from fn, unwrapping, then(ex, fn) on a thread pool
// and a process pool, cancelling the returned future, where each continuation
// runs, what it allocates, and that a chain hanging from a future that never
// completes is freed with it. No CPython counterpart: Python's futures don't chain.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "count_allocations.hpp"
#include "executor_test_util.hpp"
#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using cf_test::Event;
using cf_test::Tracked;

int square(int x) { return x * x; }

/// Sleeps `ms` milliseconds, then returns `x` squared.
int square_slowly(int ms, int x) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return x * x;
}

/// `f` failed with the error submit throws after shutdown.
void expect_shutdown_error(const cf::Future<int>& f) {
    ASSERT_TRUE(f.done());
    try {
        f.result();
        ADD_FAILURE() << "no exception";
    } catch (const cf::BrokenExecutor&) {
        ADD_FAILURE() << "a BrokenExecutor, not the shutdown error";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "cannot schedule new futures after shutdown");
    }
}

/// Completes `f` with `value` from a thread of its own and returns that thread's id.
std::thread::id complete_from_other_thread(const cf::Future<int>& f, int value) {
    std::thread::id id;
    std::thread t([&] {
        id = std::this_thread::get_id();
        f.set_result(value);
    });
    t.join();
    return id;
}

// ---- value continuations ---------------------------------------------------------

TEST(ThenTest, value_continuation_gets_the_value_and_its_result_type) {
    cf::Future<int> f;
    cf::Future<std::string> g = f.then([](int v) { return std::to_string(v); });
    EXPECT_FALSE(g.done());
    f.set_result(7);
    EXPECT_EQ(g.result(), "7");
}

TEST(ThenTest, void_future_continuation_takes_nothing) {
    cf::Future<void> f;
    cf::Future<int> g = f.then([] { return 3; });
    cf::Future<void> h = g.then([](int) {});
    f.set_result();
    EXPECT_EQ(g.result(), 3);
    h.result();
    EXPECT_TRUE(h.done());
}

TEST(ThenTest, void_future_continuation_taking_the_future) {
    cf::Future<void> f;
    auto g = f.then([](cf::Future<void> done) { return done.exception() ? "failed" : "ok"; });
    f.set_exception(cf_test::os_error());
    EXPECT_STREQ(g.result(), "failed");
}

TEST(ThenTest, generic_lambda_gets_the_value) {
    cf::Future<int> f = cf_test::create_finished_future(4);
    auto g = f.then([](auto v) { return v + 1; });
    static_assert(std::is_same_v<decltype(g), cf::Future<int>>);
    EXPECT_EQ(g.result(), 5);
}

TEST(ThenTest, value_continuation_is_skipped_on_error_with_the_same_exception) {
    bool called = false;
    cf::Future<int> f;
    auto g = f.then([&](int v) {
        called = true;
        return v;
    });
    const auto error = std::make_exception_ptr(std::out_of_range("bad index"));
    f.set_exception(error);
    EXPECT_FALSE(called);
    EXPECT_EQ(g.exception(), error);  // the same exception object, so its dynamic type too
    EXPECT_THROW(g.result(), std::out_of_range);
}

TEST(ThenTest, value_continuation_is_skipped_on_cancellation) {
    bool called = false;
    cf::Future<int> f;
    auto g = f.then([&](int) { called = true; });
    EXPECT_TRUE(f.cancel());
    EXPECT_FALSE(called);
    EXPECT_TRUE(g.cancelled());
    EXPECT_THROW(g.result(), cf::CancelledError);
}

TEST(ThenTest, future_continuation_always_runs_and_sees_errors_and_cancellation) {
    auto describe = [](cf::Future<int> done) -> std::string {
        if (done.cancelled()) return "cancelled";
        if (done.exception()) return "failed";
        return std::to_string(done.result());
    };
    cf::Future<int> ok, failed, cancelled;
    auto a = ok.then(describe);
    auto b = failed.then(describe);
    auto c = cancelled.then(describe);
    ok.set_result(1);
    failed.set_exception(cf_test::os_error());
    cancelled.cancel();
    EXPECT_EQ(a.result(), "1");
    EXPECT_EQ(b.result(), "failed");
    EXPECT_EQ(c.result(), "cancelled");
}

TEST(ThenTest, api_example_future_continuation) {
    cf::Future<int> f;
    cf::Future<int> k = f.then([](cf::Future<int> done) { return done.exception() ? -1 : done.result(); });
    f.set_exception(cf_test::os_error());
    EXPECT_EQ(k.result(), -1);
}

TEST(ThenTest, exception_from_fn_fails_the_returned_future) {
    cf::Future<int> f;
    auto g = f.then([](int) -> int { throw std::domain_error("no"); });
    auto h = f.then([](const cf::Future<int>&) { throw std::length_error("long"); });
    f.set_result(1);
    EXPECT_THROW(g.result(), std::domain_error);
    EXPECT_THROW(h.result(), std::length_error);
    EXPECT_FALSE(g.cancelled());
}

TEST(ThenTest, errors_and_cancellation_travel_down_a_chain) {
    std::atomic<int> calls{0};
    auto step = [&](int v) {
        ++calls;
        return v + 1;
    };
    cf::Future<int> failing;
    auto end = failing.then(step).then(step).then([](int v) { return std::to_string(v); });
    failing.set_exception(std::make_exception_ptr(std::invalid_argument("first link")));
    EXPECT_THROW(end.result(), std::invalid_argument);

    cf::Future<int> cancelled;
    auto end2 = cancelled.then(step).then(step);
    cancelled.cancel();
    EXPECT_TRUE(end2.cancelled());

    // A link that throws fails what follows it; a future continuation down the line recovers.
    cf::Future<int> source;
    auto recovered = source.then([](int) -> int { throw std::runtime_error("middle"); })
                         .then(step)
                         .then([](cf::Future<int> f) { return f.exception() ? 100 : f.result(); })
                         .then(step);
    source.set_result(1);
    EXPECT_EQ(recovered.result(), 101);
    EXPECT_EQ(calls.load(), 1);  // only the last `step` ran
}

// ---- unwrapping --------------------------------------------------------------------

TEST(ThenTest, fn_returning_a_future_is_unwrapped) {
    cf::Future<int> f;
    cf::Future<std::string> inner;
    auto g = f.then([&](int) { return inner; });
    static_assert(std::is_same_v<decltype(g), cf::Future<std::string>>);
    f.set_result(1);
    EXPECT_FALSE(g.done());  // follows `inner`, not yet done
    inner.set_result("inner");
    EXPECT_EQ(g.result(), "inner");
}

TEST(ThenTest, unwrapped_future_follows_errors_and_cancellation) {
    cf::Future<int> f = cf_test::create_finished_future(1);
    cf::Future<int> failing, cancelled;
    auto a = f.then([&](int) { return failing; });
    auto b = f.then([&](int) { return cancelled; });
    failing.set_exception(std::make_exception_ptr(std::overflow_error("inner")));
    cancelled.cancel();
    EXPECT_THROW(a.result(), std::overflow_error);
    // The continuation had started when its inner future was cancelled: it raises that.
    EXPECT_THROW(b.result(), cf::CancelledError);
}

TEST(ThenTest, unwrapping_a_pool_call) {
    cf::ThreadPoolExecutor ex(2);
    cf::Future<int> f;
    auto g = f.then([&](int v) { return ex.submit(&square, v); });
    f.set_result(9);
    EXPECT_EQ(g.result(5s), 81);
}

// ---- where continuations run -------------------------------------------------------

TEST(ThenTest, runs_in_the_thread_that_completes_the_source) {
    cf::Future<int> f;
    std::thread::id ran_in;
    auto g = f.then([&](int v) {
        ran_in = std::this_thread::get_id();
        return v;
    });
    const auto completer = complete_from_other_thread(f, 1);
    EXPECT_EQ(g.result(), 1);
    EXPECT_EQ(ran_in, completer);
    EXPECT_NE(ran_in, std::this_thread::get_id());
}

TEST(ThenTest, runs_at_once_in_the_calling_thread_when_the_source_is_done) {
    cf::Future<int> f = cf_test::create_finished_future(2);
    std::thread::id ran_in;
    auto g = f.then([&](int v) {
        ran_in = std::this_thread::get_id();
        return v;
    });
    EXPECT_TRUE(g.done());  // before then() returned
    EXPECT_EQ(ran_in, std::this_thread::get_id());
}

TEST(ThenTest, continuation_of_a_pool_call_runs_in_the_pool_thread) {
    cf::ThreadPoolExecutor ex(cf::ThreadPoolOptions{.max_workers = 1, .thread_name_prefix = "then"});
    Event gate;
    auto f = ex.submit([&] {
        gate.wait();
        return 1;
    });
    std::string ran_in;
    auto g = f.then([&](int) { ran_in = cf_test::current_thread_name(); });
    gate.set();
    g.result(5s);
    EXPECT_EQ(ran_in, "then_0");
}

TEST(ThenTest, executor_continuation_runs_in_the_executor) {
    cf::ThreadPoolExecutor ex(cf::ThreadPoolOptions{.max_workers = 1, .thread_name_prefix = "cont"});
    cf::Future<int> f;
    auto g = f.then(ex, [](int v) { return cf_test::current_thread_name() + ":" + std::to_string(v); });
    complete_from_other_thread(f, 3);
    EXPECT_EQ(g.result(5s), "cont_0:3");
    cf::Future<int> h = cf_test::create_finished_future(4).then(ex, &square);
    EXPECT_EQ(h.result(5s), 16);
}

// ---- then(ex, fn) --------------------------------------------------------------------

TEST(ThenTest, executor_continuation_on_a_void_future) {
    cf::ThreadPoolExecutor ex(1);
    cf::Future<void> f;
    auto g = f.then(ex, [] { return 5; });
    f.set_result();
    EXPECT_EQ(g.result(5s), 5);
}

TEST(ThenTest, executor_continuation_is_skipped_on_error_and_cancellation) {
    cf::ThreadPoolExecutor ex(1);
    std::atomic<int> calls{0};
    cf::Future<int> failed, cancelled;
    auto a = failed.then(ex, [&](int v) { return calls += v; });
    auto b = cancelled.then(ex, [&](int v) { return calls += v; });
    failed.set_exception(std::make_exception_ptr(std::range_error("r")));
    cancelled.cancel();
    EXPECT_THROW(a.result(5s), std::range_error);
    EXPECT_TRUE(b.cancelled());
    ex.shutdown();
    EXPECT_EQ(calls.load(), 0);
}

TEST(ThenTest, executor_continuation_result_is_not_unwrapped) {
    cf::ThreadPoolExecutor ex(1);
    cf::Future<int> inner = cf_test::create_finished_future(8);
    auto g = cf_test::create_finished_future(1).then(ex, [inner](int) { return inner; });
    static_assert(std::is_same_v<decltype(g), cf::Future<cf::Future<int>>>);
    EXPECT_EQ(g.result(5s), inner);
}

TEST(ThenTest, refused_submit_fails_the_returned_future) {
    cf::ThreadPoolExecutor ex(1);
    cf::Future<int> f;
    auto g = f.then(ex, &square);
    ex.shutdown();
    f.set_result(2);
    ASSERT_TRUE(g.done());
    // The shutdown error submit throws (API.md names it cf::ShutdownError, a std::runtime_error).
    expect_shutdown_error(g);
}

TEST(ThenTest, exception_from_an_executor_continuation_fails_the_returned_future) {
    cf::ThreadPoolExecutor ex(1);
    auto g = cf_test::create_finished_future(1).then(ex, [](int) -> int { throw std::underflow_error("u"); });
    EXPECT_THROW(g.result(5s), std::underflow_error);
}

// ---- cancelling what then returned -----------------------------------------------

TEST(ThenTest, cancelling_the_returned_future_cancels_a_continuation_not_started) {
    std::atomic<int> destroyed{0};
    bool called = false;
    cf::Future<int> f;
    auto g = f.then([&, t = Tracked(&destroyed)](int) { called = true; });
    EXPECT_TRUE(g.cancel());
    EXPECT_EQ(destroyed.load(), 1);  // fn is dropped at cancel(), not when f completes
    EXPECT_FALSE(f.cancelled());     // never the source
    f.set_result(1);
    EXPECT_FALSE(called);
    EXPECT_TRUE(g.cancelled());
}

TEST(ThenTest, a_running_continuation_cannot_be_cancelled) {
    cf::Future<int> f;
    Event started, release;
    cf::Future<int> g = f.then([&](int v) {
        started.set();
        release.wait();
        return v;
    });
    std::thread completer([&] { f.set_result(6); });
    started.wait();
    EXPECT_FALSE(g.cancel());
    EXPECT_TRUE(g.running());
    release.set();
    completer.join();
    EXPECT_EQ(g.result(), 6);
}

TEST(ThenTest, cancelling_an_executor_continuation_cancels_its_queued_call) {
    cf::ThreadPoolExecutor ex(1);
    Event gate;
    auto blocker = ex.submit([&] { gate.wait(); });
    std::atomic<bool> called{false};
    auto g = cf_test::create_finished_future(1).then(ex, [&](int) { called = true; });  // queued behind blocker
    EXPECT_TRUE(g.cancel());
    gate.set();
    ex.shutdown();
    EXPECT_FALSE(called.load());
    EXPECT_TRUE(g.cancelled());

    // Before the source completes, nothing is submitted at all.
    cf::Future<int> source;
    cf::ThreadPoolExecutor ex2(1);
    auto h = source.then(ex2, [&](int) { called = true; });
    EXPECT_TRUE(h.cancel());
    source.set_result(1);
    ex2.shutdown();
    EXPECT_FALSE(called.load());
    EXPECT_EQ(ex2.thread_count(), 0);
}

// ---- costs -------------------------------------------------------------------------

TEST(ThenTest, then_allocates_once) {
    cf::Future<int> f;
    auto fn = [](int v) { return v + 1; };
    const long before = cf_test::allocations();
    auto g = f.then(fn);
    const long pending_cost = cf_test::allocations() - before;
    f.set_result(1);
    const long after_completion = cf_test::allocations() - before;
    EXPECT_EQ(pending_cost, 1);
    EXPECT_EQ(after_completion, 1);  // running the continuation allocates nothing more
    EXPECT_EQ(g.result(), 2);

    const long before_ready = cf_test::allocations();
    auto h = g.then(fn);
    EXPECT_EQ(cf_test::allocations() - before_ready, 1);
    EXPECT_EQ(h.result(), 3);
}

TEST(ThenTest, chain_on_a_source_that_never_completes_is_freed_with_its_last_handle) {
    std::atomic<int> destroyed{0};
    {
        cf::Future<int> never;
        auto a = never.then([t = Tracked(&destroyed)](int v) { return v; });
        auto b = a.then([t = Tracked(&destroyed)](int v) { return v; });
        b.then([t = Tracked(&destroyed)](cf::Future<int>) {});  // handle dropped at once
        auto d = never.then([t = Tracked(&destroyed)](int) {});
        EXPECT_EQ(destroyed.load(), 0);  // the source holds the chain
    }
    EXPECT_EQ(destroyed.load(), 4);
}

TEST(ThenTest, returned_future_outlives_its_dead_source) {
    std::atomic<int> destroyed{0};
    cf::Future<int> g;
    {
        cf::Future<int> never;
        g = never.then([t = Tracked(&destroyed)](int v) { return v; });
    }
    EXPECT_FALSE(g.done());  // still pending: nothing will complete it, but it is valid
    EXPECT_EQ(destroyed.load(), 0);  // fn lives in g's state
    EXPECT_TRUE(g.cancel());
    EXPECT_EQ(destroyed.load(), 1);
}

TEST(ThenTest, fn_is_freed_as_soon_as_it_is_skipped) {
    std::atomic<int> destroyed{0};
    cf::Future<int> f;
    cf::ThreadPoolExecutor ex(1);
    auto g = f.then([t = Tracked(&destroyed)](int v) { return v; });
    auto h = f.then(ex, [t = Tracked(&destroyed)](int v) { return v; });
    f.set_exception(cf_test::os_error());
    EXPECT_EQ(destroyed.load(), 2);  // while g and h live
    EXPECT_THROW(g.result(), std::system_error);
    EXPECT_THROW(h.result(), std::system_error);
}

TEST(ThenTest, fn_is_freed_as_soon_as_it_has_run) {
    std::atomic<int> destroyed{0};
    cf::Future<int> f;
    auto g = f.then([t = Tracked(&destroyed)](int v) { return v; });
    f.set_result(1);
    EXPECT_EQ(destroyed.load(), 1);
    EXPECT_EQ(g.result(), 1);
}

TEST(ThenTest, long_chain_on_a_pending_source_completes_and_frees_without_exhausting_the_stack) {
    constexpr int kLinks = 300'000;  // 150,000 nested links overflowed an 8 MiB stack before links queued
    cf::Future<int> source;
    cf::Future<int> end = source;
    for (int i = 0; i < kLinks; ++i) end = end.then([](int v) { return v + 1; });
    source.set_result(0);
    ASSERT_TRUE(end.done());  // all in the completing thread, before set_result returned
    EXPECT_EQ(end.result(), kLinks);

    cf::Future<int> failing;
    cf::Future<int> failed_end = failing;
    for (int i = 0; i < kLinks; ++i) failed_end = failed_end.then([](int v) { return v + 1; });
    failing.set_exception(cf_test::os_error());
    EXPECT_THROW(failed_end.result(), std::system_error);

    std::atomic<int> destroyed{0};
    {
        cf::Future<int> never;
        cf::Future<int> link = never;
        for (int i = 0; i < kLinks; ++i) link = link.then([](int v) { return v; });
        link.then([t = Tracked(&destroyed)](int) {});
    }
    EXPECT_EQ(destroyed.load(), 1);  // the whole unfinished chain was freed
}

// ---- futures completed elsewhere ---------------------------------------------------

TEST(ThenProcessTest, then_on_process_pool_futures) {
    cf::ProcessPoolExecutor pool(1);  // first: its workers start before this test's threads
    std::thread::id ran_in;
    // The call sleeps so that then() surely finds it pending: on a done future, then() runs
    // fn at once in the calling thread (as add_done_callback does).
    auto f = pool.submit(&square_slowly, 300, 7);
    auto g = f.then([&](int v) {
        ran_in = std::this_thread::get_id();
        return v + 1;
    });
    EXPECT_EQ(g.result(30s), 50);
    EXPECT_NE(ran_in, std::this_thread::get_id());  // the pool's thread that completed f

    // then(pool, fn): fn and the value travel to a worker.
    cf::Future<int> h = cf_test::create_finished_future(6).then(pool, &square);
    EXPECT_EQ(h.result(30s), 36);
    auto k = pool.submit(&square, 3).then(pool, &square).then(pool, &square);
    EXPECT_EQ(k.result(30s), 6561);

    pool.shutdown();
    auto refused = cf_test::create_finished_future(2).then(pool, &square);
    expect_shutdown_error(refused);
}

}  // namespace
