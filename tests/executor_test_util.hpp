// Helpers shared by the executor / thread pool / shutdown / initializer tests:
// gates that tasks block on until the test opens them, counters a test can wait
// on, a deadlock watchdog, and a way to see that worker threads have exited.
// Tests block tasks on these rather than sleeping, so they don't depend on timing.
#pragma once

#include <pthread.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <cfutures/cfutures.hpp>

namespace cf_test {

using namespace std::chrono_literals;

/// A generous bound for things that should take microseconds: only a real bug
/// (a deadlock, a lost wake-up) makes a test hit it.
inline constexpr auto kLongWait = 30s;

/// ExecutorMixin's check at the end of a test that started at `t1`: a test lasting
/// far too long points to a synchronization issue (a wait that only a timeout ended).
inline void expect_test_not_too_long(std::chrono::steady_clock::time_point t1) {
    const auto dt = std::chrono::steady_clock::now() - t1;
    EXPECT_LT(dt, 300s) << "synchronization issue: test lasted too long";
}

/// A one-shot gate: tasks wait() until the test calls open().
class Gate {
public:
    void open() {
        // Notify under the lock: a waiter that saw the gate open may destroy it at once.
        std::lock_guard g(mutex_);
        open_ = true;
        cv_.notify_all();
    }
    void wait() {
        std::unique_lock lk(mutex_);
        cv_.wait(lk, [&] { return open_; });
    }
    /// Waits at most `timeout`; returns whether the gate is open.
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> timeout) {
        std::unique_lock lk(mutex_);
        return cv_.wait_for(lk, timeout, [&] { return open_; });
    }
    bool is_open() {
        std::lock_guard g(mutex_);
        return open_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

/// A counter that a test can wait on.
class Counter {
public:
    int increment() {
        // Notify under the lock: a waiter that saw the count may destroy the counter at once.
        std::lock_guard g(mutex_);
        const int v = ++value_;
        cv_.notify_all();
        return v;
    }
    int value() {
        std::lock_guard g(mutex_);
        return value_;
    }
    /// Waits (at most kLongWait) until the count reaches `n`; returns whether it did.
    bool wait_for_at_least(int n, std::chrono::milliseconds timeout = kLongWait) {
        std::unique_lock lk(mutex_);
        return cv_.wait_for(lk, timeout, [&] { return value_ >= n; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int value_ = 0;
};

/// Aborts the whole test program if it is still alive after `timeout`: a
/// deadlock then fails loudly instead of hanging until ctest's timeout.
class DeadlockWatchdog {
public:
    explicit DeadlockWatchdog(std::string what, std::chrono::milliseconds timeout = kLongWait)
        : what_(std::move(what)), thread_([this, timeout] {
              std::unique_lock lk(mutex_);
              if (!cv_.wait_for(lk, timeout, [&] { return done_; })) {
                  std::fprintf(stderr, "DEADLOCK: %s did not finish within %lld ms\n", what_.c_str(),
                               static_cast<long long>(timeout.count()));
                  std::fflush(stderr);
                  std::abort();
              }
          }) {}
    DeadlockWatchdog(const DeadlockWatchdog&) = delete;
    DeadlockWatchdog& operator=(const DeadlockWatchdog&) = delete;
    ~DeadlockWatchdog() {
        {
            std::lock_guard g(mutex_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

private:
    std::string what_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;  // last: starts once the members above exist
};

/// The calling thread's OS name (what pthread_setname_np set; at most 15 chars).
inline std::string current_thread_name() {
    char buf[64] = {};
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    return buf;
}

/// Counts the threads that registered with it and, later, how many of those have exited.
/// A task calls register_current_thread(); the worker's thread_local destructor, run
/// as the thread ends, bumps exited(). Must outlive the threads that register.
class ThreadExitTracker {
public:
    void register_current_thread() {
        Notifier& n = notifier();
        if (std::find(n.trackers.begin(), n.trackers.end(), this) != n.trackers.end()) return;
        n.trackers.push_back(this);
        registered_.increment();
    }
    int registered() { return registered_.value(); }
    int exited() { return exited_.value(); }
    /// Waits until every registered thread has exited.
    bool wait_all_exited(std::chrono::milliseconds timeout = kLongWait) {
        return exited_.wait_for_at_least(registered(), timeout);
    }

private:
    struct Notifier {
        std::vector<ThreadExitTracker*> trackers;
        ~Notifier() {
            for (ThreadExitTracker* t : trackers) t->exited_.increment();
        }
    };
    static Notifier& notifier() {
        thread_local Notifier n;
        return n;
    }
    Counter registered_;
    Counter exited_;
};

/// Polls `pred` until it holds or `timeout` passes; returns its last value.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = kLongWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= deadline) return pred();
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

/// True when built with AddressSanitizer. GCC 12's ASan allocator has no fork
/// handlers: a child forked while another thread holds its lock blocks as soon as it
/// starts a thread (seen in test_hang_global_shutdown_lock), so fork tests skip then.
inline constexpr bool kUnderAsan =
#if defined(__SANITIZE_ADDRESS__)
    true;
#else
    false;
#endif

/// True when built with ThreadSanitizer (fork-based tests skip themselves then).
inline constexpr bool kUnderTsan =
#if defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

/// Python's StopIteration, thrown by py_next() at the end of a map result.
struct StopIteration {};

/// Python's next(iterator) over a map() result: the value at the front, or its
/// exception; either way the result moves on past that position, as Python's
/// generator does. Throws StopIteration at the end.
template <class MapResultT>
typename MapResultT::value_type py_next(MapResultT& results) {
    auto it = results.begin();
    if (it == std::default_sentinel) throw StopIteration{};
    try {
        auto value = *it;
        ++it;
        return value;
    } catch (...) {
        ++it;
        throw;
    }
}

/// Runs `f`, which must throw an `E`; returns its what() (and records a failure otherwise).
/// `f` may also be a future: its result() must throw the `E`. The caller checks the
/// message, so a failing check reports the caller's line.
template <class E, class F>
std::string what_of(F&& f) {
    try {
        if constexpr (std::is_invocable_v<F>) {
            std::forward<F>(f)();
        } else {
            (void)f.result();
        }
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "threw an unexpected exception: " << e.what();
        return {};
    }
    ADD_FAILURE() << "threw nothing";
    return {};
}

/// Runs `f`, a submit() or map() on an executor that was shut down, which must throw
/// cf::ShutdownError (Python's RuntimeError: a std::runtime_error, not a BrokenExecutor).
/// Returns the what() (and records a failure otherwise). `call` names the call in the
/// failure messages; the caller checks the message, so a failing check reports the caller's line.
template <class F>
std::string what_of_call_after_shutdown(F&& f, const char* call = "submit") {
    static_assert(std::is_base_of_v<std::runtime_error, cf::ShutdownError>);
    static_assert(!std::is_base_of_v<cf::BrokenExecutor, cf::ShutdownError>);
    try {
        std::forward<F>(f)();
        ADD_FAILURE() << call << " after shutdown did not throw";
    } catch (const cf::ShutdownError& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << call << " after shutdown threw another error than cf::ShutdownError: " << e.what();
    }
    return {};
}

/// Whether `prefix` is a default thread name prefix, "ThreadPoolExecutor-<k>"
/// (Python's r'ThreadPoolExecutor-\d+'); stores k. (No std::regex: with GCC 12 and
/// ASan its header trips -Wmaybe-uninitialized under -Werror.)
inline bool is_default_prefix(const std::string& prefix, long* k = nullptr) {
    const std::string head = "ThreadPoolExecutor-";
    if (prefix.size() <= head.size() || prefix.compare(0, head.size(), head) != 0) return false;
    const std::string digits = prefix.substr(head.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) return false;
    if (k) *k = std::stol(digits);
    return true;
}

/// Whether `name` is "<prefix>_<n>" with 0 <= n < workers (single-digit n).
inline bool is_worker_name(const std::string& name, const std::string& prefix, int workers) {
    if (name.size() != prefix.size() + 2 || name.compare(0, prefix.size(), prefix) != 0) return false;
    return name[prefix.size()] == '_' && name.back() >= '0' && name.back() < '0' + workers;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace cf_test
