// How a thread pool stops a call (API.md, "Beyond Python: stopping calls"): the
// TaskState policy of a call with a timeout (CallOptions::timeout, MapOptions::
// call_timeout), a std::stop_token, or both. A thread cannot be killed, so a call
// is stopped by asking: its token is asked to stop, and a call past its deadline has
// its future failed at once (TimeoutError) while it keeps its thread until it returns;
// what it returns then is dropped.
#pragma once

#include <cfutures/detail/chrono.hpp>
#include <concepts>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <cfutures/call_options.hpp>
#include <cfutures/detail/call_timer.hpp>
#include <cfutures/detail/functional.hpp>
#include <cfutures/detail/shared_state.hpp>
#include <cfutures/detail/stop_token_traits.hpp>
#include <cfutures/detail/task_state.hpp>

namespace cf::detail {

/// The stop policy of a task whose callable takes a token (kToken) or that has a
/// timeout (a timer given), or both.
template <bool kToken>
class CallStop final : private TimedCall {
public:
    /// `timer` null: no timeout.
    CallStop(CallTimer* timer, std::chrono::nanoseconds limit) noexcept : timer_(timer), limit_(limit) {}
    CallStop(const CallStop&) = delete;
    CallStop& operator=(const CallStop&) = delete;
    ~CallStop() = default;

    template <class Call>
    decltype(auto) invoke(Call& call) {
        if constexpr (kToken) {
            return call(source_.get_token());
        } else {
            return call();
        }
    }
    /// The call begins: its clock starts (the timer holds a reference to the state).
    void began(StateBase& state) noexcept {
        if (!timer_) return;
        state_ = &state;
        state.add_ref();
        key_ = timer_->arm(*this, Clock::now() + limit_);
    }
    /// The call returned: its deadline no longer matters.
    void returned() noexcept {
        if (timer_ && state_) timer_->disarm(key_);
    }
    /// request_stop() of the running call.
    bool stop() noexcept {
        if constexpr (kToken) {
            source_.request_stop();
            return true;
        } else {
            return false;
        }
    }

private:
    void time_out() noexcept override {
        if (state_->fail_running(call_timeout_error(limit_))) stop();
    }
    void timer_released() noexcept override { state_->release(); }

    struct NoSource {};
    CallTimer* timer_;
    std::chrono::nanoseconds limit_;
    StateBase* state_ = nullptr;  // set when armed
    CallTimer::Key key_{};
    [[no_unique_address]] std::conditional_t<kToken, std::stop_source, NoSource> source_;
};

/// Binds a callable that takes a std::stop_token first and its decay-copied arguments into
/// one call of a token.
template <class Fn, class... Args>
auto bind_stoppable_call(Fn&& fn, Args&&... args) {
    using R = std::decay_t<std::invoke_result_t<std::decay_t<Fn>, std::stop_token, std::decay_t<Args>...>>;
    return [fn = std::forward<Fn>(fn), ... args = std::forward<Args>(args)](std::stop_token token) mutable -> R {
        return detail::invoke(std::move(fn), std::move(token), std::move(args)...);
    };
}

template <bool kToken, class Fn, class... Args>
struct pool_call_result {
    using type = call_result_t<Fn, Args...>;
};
template <class Fn, class... Args>
struct pool_call_result<true, Fn, Args...> {
    using type = std::decay_t<std::invoke_result_t<std::decay_t<Fn>, std::stop_token, std::decay_t<Args>...>>;
};
/// What a thread-pool call of fn(args...) gives: fn(token, args...) when fn takes a token.
template <class Fn, class... Args>
using pool_call_result_t = typename pool_call_result<takes_stop_token_v<Fn, Args...>, Fn, Args...>::type;

/// Allocates a task for `fn(args...)` (`fn(token, args...)` when it takes a token) that
/// `timer` ends after `limit` of running (no timeout when `timer` is null); its
/// reference count at 2, as make_task's.
template <class Fn, class... Args>
StateBase* make_stoppable_task(CallTimer* timer, std::chrono::nanoseconds limit, Fn&& fn, Args&&... args) {
    using R = pool_call_result_t<Fn, Args...>;
    if constexpr (takes_stop_token_v<Fn, Args...>) {
        using Call = decltype(bind_stoppable_call(std::forward<Fn>(fn), std::forward<Args>(args)...));
        return new TaskState<R, Call, CallStop<true>>(
            bind_stoppable_call(std::forward<Fn>(fn), std::forward<Args>(args)...), timer, limit);
    } else {
        using Call = decltype(bind_call(std::forward<Fn>(fn), std::forward<Args>(args)...));
        return new TaskState<R, Call, CallStop<false>>(bind_call(std::forward<Fn>(fn), std::forward<Args>(args)...),
                                                       timer, limit);
    }
}

}  // namespace cf::detail
