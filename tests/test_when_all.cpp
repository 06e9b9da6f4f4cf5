// cf::when_all and cf::when_any, rule by rule (API.md, "Beyond Python: composing
// and awaiting futures"): input order, never failing, done at once when the
// inputs are, the position of the first done, AnyFuture ranges, the thread that
// completes them, and that they keep no input alive once done. No CPython
// counterpart (asyncio.gather is the nearest).

#include <gtest/gtest.h>

#include <atomic>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using cf_test::Tracked;

// ---- when_all -----------------------------------------------------------------------

TEST(WhenAllTest, value_is_the_same_futures_in_input_order) {
    std::vector<cf::Future<int>> fs(3);
    auto all = cf::when_all(fs);
    static_assert(std::is_same_v<decltype(all), cf::Future<std::vector<cf::Future<int>>>>);
    fs[2].set_result(2);
    fs[0].set_result(0);
    EXPECT_FALSE(all.done());
    fs[1].set_result(1);
    ASSERT_TRUE(all.done());
    EXPECT_EQ(all.result(), fs);
}

TEST(WhenAllTest, never_fails_and_counts_cancelled_inputs_as_done) {
    cf::Future<int> ok, failed, cancelled;
    auto all = cf::when_all({ok, failed, cancelled});
    failed.set_exception(cf_test::os_error());
    cancelled.cancel();
    ok.set_result(1);
    ASSERT_TRUE(all.done());
    EXPECT_EQ(all.exception(), nullptr);
    const auto& got = all.result();
    EXPECT_THROW(got[1].result(), std::system_error);
    EXPECT_TRUE(got[2].cancelled());
}

TEST(WhenAllTest, empty_range_is_done_at_once) {
    std::vector<cf::Future<int>> none;
    auto all = cf::when_all(none);
    ASSERT_TRUE(all.done());
    EXPECT_TRUE(all.result().empty());
}

TEST(WhenAllTest, done_at_once_when_all_inputs_are) {
    std::list<cf::Future<int>> fs{cf_test::create_finished_future(1), cf_test::CANCELLED_FUTURE()};
    auto all = cf::when_all(fs);  // any input range
    EXPECT_TRUE(all.done());
}

TEST(WhenAllTest, duplicates_are_kept_in_place) {
    cf::Future<int> f;
    auto all = cf::when_all({f, f});
    f.set_result(3);
    ASSERT_TRUE(all.done());
    EXPECT_EQ(all.result().size(), 2u);
}

TEST(WhenAllTest, variadic_gives_a_tuple_of_the_futures) {
    cf::Future<int> a;
    cf::Future<std::string> b;
    cf::Future<void> c;
    auto all = cf::when_all(a, b, c);
    static_assert(std::is_same_v<decltype(all), cf::Future<std::tuple<cf::Future<int>, cf::Future<std::string>,
                                                                       cf::Future<void>>>>);
    a.set_result(1);
    b.set_result("b");
    EXPECT_FALSE(all.done());
    c.set_result();
    ASSERT_TRUE(all.done());
    const auto& [fa, fb, fc] = all.result();
    EXPECT_EQ(fa, a);
    EXPECT_EQ(fb.result(), "b");
    EXPECT_EQ(fc, c);
}

TEST(WhenAllTest, over_any_futures_of_mixed_types) {
    cf::Future<int> a;
    cf::Future<std::string> b;
    std::vector<cf::AnyFuture> fs{a, b};
    auto all = cf::when_all(fs);
    static_assert(std::is_same_v<decltype(all), cf::Future<std::vector<cf::AnyFuture>>>);
    a.set_result(1);
    b.set_exception(cf_test::os_error());
    ASSERT_TRUE(all.done());
    EXPECT_EQ(all.result(), fs);
    EXPECT_TRUE(all.result()[1].exception());
    auto braced = cf::when_all({cf::AnyFuture(a), cf::AnyFuture(b)});
    EXPECT_TRUE(braced.done());
}

TEST(WhenAllTest, completes_in_the_thread_that_completes_the_last_input) {
    cf::Future<int> a = cf_test::create_finished_future(1);
    cf::Future<int> b;
    auto all = cf::when_all(a, b);
    std::thread::id ran_in, completer;
    auto g = all.then([&](const auto&) { ran_in = std::this_thread::get_id(); });
    std::thread t([&] {
        completer = std::this_thread::get_id();
        b.set_result(2);
    });
    t.join();
    EXPECT_TRUE(g.done());
    EXPECT_EQ(ran_in, completer);
}

TEST(WhenAllTest, over_pool_calls) {
    cf::ThreadPoolExecutor ex(2);
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 1000; ++i) fs.push_back(ex.submit([i] { return i; }));
    auto sum = cf::when_all(fs).then([](const std::vector<cf::Future<int>>& done) {
        long total = 0;
        for (const auto& f : done) total += f.result();
        return total;
    });
    EXPECT_EQ(sum.result(10s), 999L * 1000 / 2);
}

TEST(WhenAllTest, holds_the_inputs_only_through_its_value) {
    std::atomic<int> destroyed{0};
    auto all = [&] {
        cf::Future<Tracked> a, b;
        auto result = cf::when_all(a, b);
        a.set_result(Tracked(&destroyed));
        b.set_result(Tracked(&destroyed));
        return result;
    }();
    EXPECT_EQ(destroyed.load(), 0);  // the value holds both inputs
    all = cf::Future<std::tuple<cf::Future<Tracked>, cf::Future<Tracked>>>();
    EXPECT_EQ(destroyed.load(), 2);
}

TEST(WhenAllTest, an_unfinished_input_that_dies_frees_it) {
    std::atomic<int> destroyed{0};
    {
        cf::Future<int> never;
        cf::when_all({never}).then([t = Tracked(&destroyed)](cf::Future<std::vector<cf::Future<int>>>) {});
    }
    EXPECT_EQ(destroyed.load(), 1);
}

// ---- when_any ---------------------------------------------------------------------

TEST(WhenAnyTest, position_of_the_first_done) {
    std::vector<cf::Future<int>> fs(3);
    auto first = cf::when_any(fs);
    static_assert(std::is_same_v<decltype(first), cf::Future<std::size_t>>);
    EXPECT_FALSE(first.done());
    fs[2].set_exception(cf_test::os_error());  // failing counts as done
    ASSERT_TRUE(first.done());
    EXPECT_EQ(first.result(), 2u);
    fs[0].set_result(0);
    EXPECT_EQ(first.result(), 2u);
}

TEST(WhenAnyTest, at_once_with_the_lowest_position_done_already) {
    std::vector<cf::Future<int>> fs{cf_test::PENDING_FUTURE(), cf_test::CANCELLED_FUTURE(),
                                    cf_test::create_finished_future(1)};
    auto first = cf::when_any(fs);
    ASSERT_TRUE(first.done());
    EXPECT_EQ(first.result(), 1u);
}

TEST(WhenAnyTest, empty_range_throws) {
    std::vector<cf::Future<int>> none;
    EXPECT_THROW(
        {
            try {
                (void)cf::when_any(none);
            } catch (const std::invalid_argument& e) {
                EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos);
                throw;
            }
        },
        std::invalid_argument);
}

TEST(WhenAnyTest, over_any_futures) {
    cf::Future<int> a;
    cf::Future<std::string> b;
    auto first = cf::when_any({cf::AnyFuture(a), cf::AnyFuture(b)});
    b.set_result("b");
    EXPECT_EQ(first.result(), 1u);
}

TEST(WhenAnyTest, completes_in_the_thread_that_completes_the_input) {
    std::vector<cf::Future<int>> fs(2);
    auto first = cf::when_any(fs);
    std::thread::id ran_in, completer;
    auto g = first.then([&](std::size_t) { ran_in = std::this_thread::get_id(); });
    std::thread t([&] {
        completer = std::this_thread::get_id();
        fs[1].set_result(1);
    });
    t.join();
    EXPECT_EQ(ran_in, completer);
}

TEST(WhenAnyTest, keeps_no_input_alive_once_done) {
    std::atomic<int> destroyed{0};
    cf::Future<std::size_t> first;
    {
        cf::Future<Tracked> a, b;
        first = cf::when_any(std::vector{a, b});
        a.set_result(Tracked(&destroyed));
        b.set_result(Tracked(&destroyed));
    }
    EXPECT_EQ(destroyed.load(), 2);  // both inputs gone, though `first` lives
    EXPECT_EQ(first.result(), 0u);
}

}  // namespace
