// Helpers shared by the test programs: the C++ counterpart of CPython's
// Lib/test/test_concurrent_futures/util.py (create_future and the
// PENDING_FUTURE ... SUCCESSFUL_FUTURE constants) and of threading.Event.
// Keep it small and self-contained: every test program includes it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <type_traits>
#include <utility>

#include <cfutures/cfutures.hpp>

namespace cf_test {

/// Python's future states (concurrent.futures._base), reached through the public API.
enum class State { PENDING, RUNNING, CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED };

/// util.create_future(state=...) for the states that carry no result. With FINISHED,
/// the future fails with `exception` when one is given and otherwise succeeds with T{}
/// (nothing for void).
template <class T = int>
cf::Future<T> create_future(State state = State::PENDING, std::exception_ptr exception = nullptr) {
    cf::Future<T> f;
    switch (state) {
        case State::PENDING: break;
        case State::RUNNING: f.set_running_or_notify_cancel(); break;
        case State::CANCELLED: f.cancel(); break;
        case State::CANCELLED_AND_NOTIFIED:
            f.cancel();
            f.set_running_or_notify_cancel();
            break;
        case State::FINISHED:
            if (exception) f.set_exception(std::move(exception));
            else if constexpr (std::is_void_v<T>) f.set_result();
            else f.set_result(T{});
            break;
    }
    return f;
}

/// util.create_future(state=FINISHED, result=value).
template <class T>
cf::Future<std::decay_t<T>> create_finished_future(T&& value) {
    cf::Future<std::decay_t<T>> f;
    f.set_result(std::forward<T>(value));
    return f;
}

/// Python's OSError() stands for "some exception the module does not know".
inline std::exception_ptr os_error() {
    return std::make_exception_ptr(std::system_error(std::make_error_code(std::errc::io_error)));
}

// util.py's module constants. Python shares one object per constant; here each
// call makes a new future, so a test keeps the ones it compares in variables.
template <class T = int>
cf::Future<T> PENDING_FUTURE() { return create_future<T>(State::PENDING); }
template <class T = int>
cf::Future<T> RUNNING_FUTURE() { return create_future<T>(State::RUNNING); }
template <class T = int>
cf::Future<T> CANCELLED_FUTURE() { return create_future<T>(State::CANCELLED); }
template <class T = int>
cf::Future<T> CANCELLED_AND_NOTIFIED_FUTURE() { return create_future<T>(State::CANCELLED_AND_NOTIFIED); }
template <class T = int>
cf::Future<T> EXCEPTION_FUTURE() { return create_future<T>(State::FINISHED, os_error()); }
inline cf::Future<int> SUCCESSFUL_FUTURE() { return create_finished_future(42); }

/// Python's threading.Event.
class Event {
public:
    void set() {
        // Notify under the lock: a waiter that returns may destroy the event at once.
        std::lock_guard g(m_);
        flag_ = true;
        cv_.notify_all();
    }
    [[nodiscard]] bool is_set() const {
        std::lock_guard g(m_);
        return flag_;
    }
    /// Blocks until set; returns true (as Python's wait() without a timeout).
    bool wait() {
        std::unique_lock g(m_);
        cv_.wait(g, [&] { return flag_; });
        return true;
    }
    /// Returns whether the event was set within `timeout`.
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> timeout) {
        std::unique_lock g(m_);
        return cv_.wait_for(g, timeout, [&] { return flag_; });
    }

private:
    mutable std::mutex m_;
    std::condition_variable cv_;
    bool flag_ = false;
};

/// Counts its destructions (a moved-from one does not count): how a test sees that
/// something holding it (a continuation, a coroutine frame, a future's value) was freed.
class Tracked {
public:
    explicit Tracked(std::atomic<int>* destroyed) : destroyed_(destroyed) {}
    Tracked(Tracked&& o) noexcept : destroyed_(std::exchange(o.destroyed_, nullptr)) {}
    Tracked& operator=(Tracked&&) = delete;
    ~Tracked() {
        if (destroyed_) destroyed_->fetch_add(1);
    }

private:
    std::atomic<int>* destroyed_;
};

/// Restores the previous callback error handler when it goes out of scope.
class ScopedCallbackErrorHandler {
public:
    explicit ScopedCallbackErrorHandler(cf::CallbackErrorHandler h)
        : previous_(cf::set_callback_error_handler(std::move(h))) {}
    ~ScopedCallbackErrorHandler() { cf::set_callback_error_handler(std::move(previous_)); }
    ScopedCallbackErrorHandler(const ScopedCallbackErrorHandler&) = delete;
    ScopedCallbackErrorHandler& operator=(const ScopedCallbackErrorHandler&) = delete;

private:
    cf::CallbackErrorHandler previous_;
};

}  // namespace cf_test
