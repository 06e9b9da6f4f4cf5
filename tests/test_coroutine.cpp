// co_await on futures, Future<T> as a coroutine's return type, and
// co_await cf::resume_on(ex), rule by rule (API.md, "Beyond Python: composing
// and awaiting futures"): values and exceptions, where a coroutine resumes,
// eagerness, what awaiting allocates, a coroutine awaiting 10,000 calls, and a
// coroutine whose future is dropped before it completes. No CPython
// counterpart (asyncio.wrap_future is the nearest).

#include <gtest/gtest.h>

#include <atomic>
#include <coroutine>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "count_allocations.hpp"
#include "executor_test_util.hpp"
#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using cf_test::Event;
using cf_test::Tracked;

int twice(int x) { return 2 * x; }

/// The smallest coroutine type that is not cf's own: co_await must work in any coroutine.
struct Detached {
    struct promise_type {
        Detached get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

// ---- co_await --------------------------------------------------------------------

TEST(CoAwaitTest, value_of_a_done_future_without_suspending) {
    int got = 0;
    std::thread::id ran_in;
    [](cf::Future<int> f, int& out, std::thread::id& id) -> Detached {
        out = co_await f;
        id = std::this_thread::get_id();
    }(cf_test::create_finished_future(5), got, ran_in);
    EXPECT_EQ(got, 5);  // before the coroutine call returned
    EXPECT_EQ(ran_in, std::this_thread::get_id());
}

TEST(CoAwaitTest, resumes_in_the_thread_that_completes_the_future) {
    cf::Future<std::string> f;
    std::string got;
    std::thread::id resumed_in;
    [](cf::Future<std::string> f, std::string& out, std::thread::id& id) -> Detached {
        out = co_await f;
        id = std::this_thread::get_id();
    }(f, got, resumed_in);
    EXPECT_TRUE(got.empty());  // suspended
    std::thread::id completer;
    std::thread t([&] {
        completer = std::this_thread::get_id();
        f.set_result("done");
    });
    t.join();
    EXPECT_EQ(got, "done");
    EXPECT_EQ(resumed_in, completer);
}

TEST(CoAwaitTest, void_future_and_any_future) {
    cf::Future<void> v;
    cf::Future<int> i;
    int steps = 0;
    [](cf::Future<void> v, cf::AnyFuture any, int& steps) -> Detached {
        co_await v;
        ++steps;
        co_await any;
        ++steps;
    }(v, i, steps);
    EXPECT_EQ(steps, 0);
    v.set_result();
    EXPECT_EQ(steps, 1);
    i.set_result(1);
    EXPECT_EQ(steps, 2);
}

TEST(CoAwaitTest, exception_and_cancellation_are_thrown_at_the_co_await) {
    auto catch_what = [](cf::AnyFuture f, std::string& out) -> Detached {
        try {
            co_await f;
            out = "nothing";
        } catch (const cf::CancelledError&) {
            out = "cancelled";
        } catch (const std::out_of_range& e) {
            out = e.what();
        }
    };
    std::string failed, cancelled, any_failed;
    cf::Future<int> f1, f2;
    [](cf::Future<int> f, std::string& out) -> Detached {
        try {
            (void)co_await f;
        } catch (const std::out_of_range& e) {
            out = e.what();
        }
    }(f1, failed);
    catch_what(f2, cancelled);
    catch_what(cf_test::create_future(cf_test::State::FINISHED, std::make_exception_ptr(std::out_of_range("oor"))),
               any_failed);
    f1.set_exception(std::make_exception_ptr(std::out_of_range("typed")));
    f2.cancel();
    EXPECT_EQ(failed, "typed");
    EXPECT_EQ(cancelled, "cancelled");
    EXPECT_EQ(any_failed, "oor");
}

TEST(CoAwaitTest, awaiting_allocates_nothing) {
    cf::Future<int> pending;
    cf::Future<int> ready = cf_test::create_finished_future(1);
    long before = 0, after_ready = 0, after_pending = 0;
    [](cf::Future<int> pending, cf::Future<int> ready, long& before, long& after_ready, long& after_pending) -> Detached {
        before = cf_test::allocations();
        (void)co_await ready;
        after_ready = cf_test::allocations();
        (void)co_await pending;
        after_pending = cf_test::allocations();
    }(pending, ready, before, after_ready, after_pending);
    pending.set_result(2);  // resumes the coroutine here, in this thread
    EXPECT_EQ(after_ready - before, 0);
    EXPECT_EQ(after_pending - before, 0);
}

// ---- Future<T> as a coroutine's return type ---------------------------------------

cf::Future<int> add_one_after(cf::Future<int> f, bool& started) {
    started = true;
    const int v = co_await f;
    co_return v + 1;
}

TEST(FutureCoroutineTest, eager_until_its_first_suspension) {
    cf::Future<int> input;
    bool started = false;
    cf::Future<int> out = add_one_after(input, started);
    EXPECT_TRUE(started);  // ran in the caller
    EXPECT_FALSE(out.done());
    input.set_result(1);
    EXPECT_EQ(out.result(), 2);
}

TEST(FutureCoroutineTest, done_at_once_when_it_never_suspends) {
    bool started = false;
    cf::Future<int> out = add_one_after(cf_test::create_finished_future(4), started);
    ASSERT_TRUE(out.done());
    EXPECT_EQ(out.result(), 5);
}

TEST(FutureCoroutineTest, exception_leaving_the_coroutine_fails_its_future) {
    auto fails = [](cf::Future<int> f) -> cf::Future<int> {
        (void)co_await f;
        throw std::logic_error("after the await");
    };
    cf::Future<int> input;
    auto out = fails(input);
    input.set_result(1);
    EXPECT_THROW(out.result(), std::logic_error);

    // An awaited exception that is not caught fails it too, with its own type.
    auto passes_on = [](cf::Future<int> f) -> cf::Future<void> { (void)co_await f; };
    auto out2 = passes_on(cf_test::EXCEPTION_FUTURE());
    EXPECT_THROW(out2.result(), std::system_error);
}

TEST(FutureCoroutineTest, void_coroutine) {
    int steps = 0;
    auto body = [](cf::Future<void> f, int& steps) -> cf::Future<void> {
        co_await f;
        ++steps;
    };
    cf::Future<void> input;
    auto out = body(input, steps);
    input.set_result();
    out.result();
    EXPECT_EQ(steps, 1);
}

TEST(FutureCoroutineTest, awaits_ten_thousand_pool_calls) {
    cf::ThreadPoolExecutor ex(2);
    auto sum = [](cf::ThreadPoolExecutor& ex) -> cf::Future<long> {
        long total = 0;
        for (int i = 0; i < 10000; ++i) total += co_await ex.submit(&twice, i);
        co_return total;
    };
    EXPECT_EQ(sum(ex).result(30s), 2L * 9999 * 10000 / 2);
}

TEST(FutureCoroutineTest, dropped_before_it_completes) {
    std::atomic<int> frames_freed{0};
    std::atomic<bool> finished{false};
    cf::Future<int> input;
    {
        auto body = [](cf::Future<int> f, Tracked, std::atomic<bool>& finished) -> cf::Future<int> {
            const int v = co_await f;
            finished = true;
            co_return v;
        };
        (void)body(input, Tracked(&frames_freed), finished);  // its future dropped at once
    }
    EXPECT_EQ(frames_freed.load(), 0);  // suspended: the frame waits on `input`
    input.set_result(3);
    EXPECT_TRUE(finished.load());
    EXPECT_EQ(frames_freed.load(), 1);  // ran to its end, its outcome dropped, its frame freed
}

TEST(FutureCoroutineTest, cancelled_future_drops_the_outcome) {
    cf::Future<int> input;
    bool started = false;
    auto out = add_one_after(input, started);
    EXPECT_TRUE(out.cancel());
    input.set_result(1);  // the coroutine goes on and returns; nothing breaks
    EXPECT_TRUE(out.cancelled());
}

TEST(FutureCoroutineTest, then_on_a_coroutine_future) {
    bool started = false;
    cf::Future<int> input;
    auto out = add_one_after(input, started).then([](int v) { return v * 10; });
    input.set_result(1);
    EXPECT_EQ(out.result(), 20);
}

// ---- resume_on ----------------------------------------------------------------------

TEST(ResumeOnTest, goes_on_in_a_thread_of_the_executor) {
    cf::ThreadPoolExecutor ex(cf::ThreadPoolOptions{.max_workers = 1, .thread_name_prefix = "hop"});
    auto body = [](cf::ThreadPoolExecutor& ex) -> cf::Future<std::string> {
        co_await cf::resume_on(ex);
        co_return cf_test::current_thread_name();
    };
    EXPECT_EQ(body(ex).result(5s), "hop_0");
}

TEST(ResumeOnTest, api_example) {
    cf::ThreadPoolExecutor ex(2);
    auto total = [](cf::ThreadPoolExecutor& ex) -> cf::Future<int> {
        int a = co_await ex.submit(&twice, 1);
        co_await cf::resume_on(ex);
        co_return a + 1;
    };
    EXPECT_EQ(total(ex).result(5s), 3);
}

TEST(ResumeOnTest, throws_what_submit_would) {
    cf::ThreadPoolExecutor ex(1);
    ex.shutdown();
    auto body = [](cf::ThreadPoolExecutor& ex) -> cf::Future<std::string> {
        try {
            co_await cf::resume_on(ex);
        } catch (const std::runtime_error& e) {  // cf::ShutdownError in API.md
            co_return e.what();
        }
        co_return "resumed";
    };
    auto out = body(ex);
    ASSERT_TRUE(out.done());
    EXPECT_EQ(out.result(), "cannot schedule new futures after shutdown");
}

}  // namespace
