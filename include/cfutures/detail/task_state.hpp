// A task: a future's shared state with the call stored beside the result,
// so that submitting costs one allocation. The call is destroyed as soon as
// it has run (or been cancelled or abandoned): a future never keeps the
// callable or its arguments alive.
#pragma once

#include <cfutures/detail/functional.hpp>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include <cfutures/detail/pool_hooks.hpp>
#include <cfutures/detail/result_state.hpp>

namespace cf::detail {

/// What a plain task does around its call: nothing (CallStop, in call_stop.hpp, is the
/// policy of a call with a timeout or a stop token).
struct NoStop {
    template <class Call>
    decltype(auto) invoke(Call& call) {
        return call();
    }
    void began(StateBase&) noexcept {}
    void returned() noexcept {}
    bool stop() noexcept { return false; }
};

template <class T, class Call, class Stop = NoStop>
class TaskState final : public ResultState<T> {
public:
    /// `stop_args`: what the Stop policy is constructed from.
    template <class... StopArgs>
    explicit TaskState(Call&& call, StopArgs&&... stop_args)
        : call_(std::move(call)), stop_(std::forward<StopArgs>(stop_args)...) {
        this->init_refs(2);
    }
    ~TaskState() override {
        if (call_alive_) call_.~Call();
    }

    void run() noexcept override {
        CallReturnedHook* const hook = std::exchange(tls_call_returned_hook, nullptr);
        if (!this->try_start()) return;  // cancelled (call already dropped) or completed by hand
        stop_.began(*this);
        // A setter called by hand on the running future wins over the call's outcome,
        // as in Python (the executor's own set_result would then fail); so does a stop
        // or a timeout that ended the future while the call ran (its outcome is dropped).
        try {
            if constexpr (std::is_void_v<T>) {
                stop_.invoke(call_);
                returned(hook);
                if (this->claim_finish()) this->store_and_commit();
            } else {
                T value = stop_.invoke(call_);
                returned(hook);
                if (this->claim_finish()) this->store_and_commit(std::move(value));
            }
        } catch (...) {
            returned(hook);
            if (this->claim_finish()) {
                this->exception_ = std::current_exception();
                this->commit_finish();
            }
        }
    }

private:
    void returned(CallReturnedHook* hook) noexcept {
        drop_call();
        stop_.returned();
        if (hook) hook->call_returned();
    }
    bool stop_running() noexcept override { return stop_.stop(); }
    void release_call() noexcept override { drop_call(); }
    void drop_call() noexcept {
        if (call_alive_) {
            call_alive_ = false;
            call_.~Call();
        }
    }
    void destroy() noexcept override { delete this; }

    union {
        Call call_;
    };
    bool call_alive_ = true;
    [[no_unique_address]] Stop stop_;
};

/// The result type of a submitted call: what fn(args...) returns, decayed (a future holds values).
template <class Fn, class... Args>
using call_result_t = std::decay_t<std::invoke_result_t<std::decay_t<Fn>, std::decay_t<Args>...>>;

/// Binds a callable and its decay-copied arguments into one nullary call (as std::async does).
template <class Fn, class... Args>
auto bind_call(Fn&& fn, Args&&... args) {
    using R = call_result_t<Fn, Args...>;
    return [fn = std::forward<Fn>(fn), ... args = std::forward<Args>(args)]() mutable -> R {
        return detail::invoke(std::move(fn), std::move(args)...);
    };
}

/// Allocates a task for `fn(args...)`, its reference count at 2 (one for the future, one for the queue).
template <class Fn, class... Args>
auto make_task(Fn&& fn, Args&&... args) {
    using R = call_result_t<Fn, Args...>;
    using Call = decltype(bind_call(std::forward<Fn>(fn), std::forward<Args>(args)...));
    return new TaskState<R, Call>(bind_call(std::forward<Fn>(fn), std::forward<Args>(args)...));
}

}  // namespace cf::detail
