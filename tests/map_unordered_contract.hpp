// map_unordered's contract (API.md: on every process-based executor), written once:
// test_map_unordered.cpp runs it on the process pool with each start method,
// tests/mpi/test_mpi.cpp on the MPI executors in each mode. Each check takes an
// executor with at least two workers.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <cfutures/cfutures.hpp>

namespace cf_contract {

inline int unordered_sleep_then(int ms, int value) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return value;
}
inline int unordered_square(int x) { return x * x; }
inline int unordered_fail_at(int x, int bad) {
    if (x == bad) throw std::out_of_range("item " + std::to_string(x));
    return x * 10;
}

/// Two calls at once, so that every worker of a two-worker pool is up before a check
/// that needs both (Spawn starts a worker only when a call finds none idle).
template <class Ex>
void start_two_workers(Ex& ex) {
    auto a = ex.submit(&unordered_sleep_then, 200, 1);
    auto b = ex.submit(&unordered_sleep_then, 200, 2);
    EXPECT_EQ(a.result() + b.result(), 3);
}

template <class Ex>
void map_unordered_yields_in_completion_order(Ex& ex) {
    start_two_workers(ex);
    // Item 0 is slow: every other result comes before it but those queued behind it.
    std::vector<int> delays(12, 0);
    delays[0] = 1500;
    std::vector<int> values(12);
    std::iota(values.begin(), values.end(), 0);
    std::vector<int> got;
    for (int v : ex.map_unordered(&unordered_sleep_then, delays, values)) got.push_back(v);
    ASSERT_EQ(got.size(), values.size());
    EXPECT_NE(got.front(), 0) << "the slow call came first";
    const auto slow_at = std::find(got.begin(), got.end(), 0) - got.begin();
    EXPECT_GE(slow_at, static_cast<long>(got.size()) / 2);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, values);
}

template <class Ex>
void map_unordered_gives_all_results(Ex& ex) {
    std::vector<int> in(5000);
    std::iota(in.begin(), in.end(), 0);
    std::vector<int> expected;
    for (int x : in) expected.push_back(x * x);
    for (std::size_t chunksize : {std::size_t{1}, std::size_t{100}}) {
        for (std::optional<std::size_t> buffersize : {std::optional<std::size_t>{}, std::optional<std::size_t>{3}}) {
            SCOPED_TRACE("chunksize=" + std::to_string(chunksize) + " buffersize=" +
                         (buffersize ? std::to_string(*buffersize) : std::string("none")));
            std::vector<int> got;
            for (int v : ex.map_unordered(&unordered_square, in,
                                          cf::MapOptions{.chunksize = chunksize, .buffersize = buffersize}))
                got.push_back(v);
            std::sort(got.begin(), got.end());
            EXPECT_EQ(got, expected);
        }
    }
}

template <class Ex>
void map_unordered_failed_call_throws_in_its_turn(Ex& ex) {
    int ok = 0;
    int failed = 0;
    auto results = ex.map_unordered(&unordered_fail_at, std::views::iota(0, 10), std::vector<int>(10, 3));
    for (auto it = results.begin(); it != results.end(); ++it) {
        try {
            EXPECT_EQ(*it % 10, 0);
            ++ok;
        } catch (const std::out_of_range& e) {
            EXPECT_STREQ(e.what(), "item 3");
            ++failed;
        }
    }
    EXPECT_EQ(ok, 9);
    EXPECT_EQ(failed, 1);
}

/// mpi4py.futures' map(unordered=True) with a buffersize takes an endless input.
template <class Ex>
void map_unordered_buffersize_consumes_an_endless_input(Ex& ex) {
    for (std::size_t chunksize : {std::size_t{1}, std::size_t{3}}) {
        SCOPED_TRACE("chunksize=" + std::to_string(chunksize));
        std::set<int> roots;
        auto results = ex.map_unordered(&unordered_square, std::views::iota(0),
                                        cf::MapOptions{.chunksize = chunksize, .buffersize = 4});
        for (int v : results) {
            const int root = static_cast<int>(std::lround(std::sqrt(static_cast<double>(v))));
            EXPECT_EQ(root * root, v);
            roots.insert(root);
            if (roots.size() == 40) break;
        }
        EXPECT_EQ(roots.size(), 40u) << "every result is of a different input";
        EXPECT_LT(*roots.rbegin(), 40 + 4 * static_cast<int>(chunksize) + 1) << "inputs were read ahead of the buffer";
    }
}

/// A timeout throws only when no result is in by then: results already received come
/// first (the slow call does not hold the fast one back).
template <class Ex>
void map_unordered_timeout_yields_the_results_in_first(Ex& ex) {
    start_two_workers(ex);
    const auto start = std::chrono::steady_clock::now();
    auto results = ex.map_unordered(&unordered_sleep_then, std::vector{3000, 0}, std::vector{-1, 7},
                                    cf::MapOptions{.timeout = std::chrono::milliseconds(2000)});
    auto it = results.begin();
    EXPECT_EQ(*it, 7);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2000))
        << "the fast result waited for the slow call";
    ++it;
    EXPECT_THROW((void)*it, cf::TimeoutError);
    EXPECT_TRUE(it == results.end()) << "a map that timed out is exhausted";
}

template <class Ex>
void map_unordered_invalid_options_throw_from_the_call(Ex& ex) {
    const std::vector<int> in{1, 2};
    EXPECT_THROW((void)ex.map_unordered(&unordered_square, in, cf::MapOptions{.chunksize = 0}), std::invalid_argument);
    EXPECT_THROW((void)ex.map_unordered(&unordered_square, in, cf::MapOptions{.buffersize = 0}), std::invalid_argument);
}

}  // namespace cf_contract

/// The cases, as TEST_F or TEST_P bodies: CF_MAP_UNORDERED_CASES(TEST_P, Fixture, executor-expression).
#define CF_MAP_UNORDERED_CASES(TEST_MACRO, Fixture, executor_expr)                                         \
    TEST_MACRO(Fixture, map_unordered_yields_in_completion_order) {                                        \
        cf_contract::map_unordered_yields_in_completion_order(executor_expr);                              \
    }                                                                                                      \
    TEST_MACRO(Fixture, map_unordered_gives_all_results) { cf_contract::map_unordered_gives_all_results(executor_expr); } \
    TEST_MACRO(Fixture, map_unordered_failed_call_throws_in_its_turn) {                                    \
        cf_contract::map_unordered_failed_call_throws_in_its_turn(executor_expr);                          \
    }                                                                                                      \
    TEST_MACRO(Fixture, map_unordered_buffersize_consumes_an_endless_input) {                              \
        cf_contract::map_unordered_buffersize_consumes_an_endless_input(executor_expr);                    \
    }                                                                                                      \
    TEST_MACRO(Fixture, map_unordered_timeout_yields_the_results_in_first) {                               \
        cf_contract::map_unordered_timeout_yields_the_results_in_first(executor_expr);                     \
    }                                                                                                      \
    TEST_MACRO(Fixture, map_unordered_invalid_options_throw_from_the_call) {                               \
        cf_contract::map_unordered_invalid_options_throw_from_the_call(executor_expr);                     \
    }
