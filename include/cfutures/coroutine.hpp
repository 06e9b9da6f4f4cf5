// Coroutines and futures: `co_await` on any cf::Future<T> or cf::AnyFuture (in
// any coroutine), cf::Future<T> as a coroutine's return type (eager: it runs in
// the caller until its first suspension), and `co_await cf::resume_on(ex)`.
// Where each one resumes is drawn in docs/design.md ("Composing and awaiting").
#pragma once

#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

#include <cfutures/any_future.hpp>
#include <cfutures/future.hpp>

namespace cf {
namespace detail {

/// What a co_await hangs on the awaited future. It lives in the awaiter, inside the
/// coroutine's frame, so awaiting allocates nothing.
class ResumeNode final : public CallbackNode {
public:
    ResumeNode() noexcept : CallbackNode(/*internal=*/false) {}
    void fire(StateBase&) noexcept override {}
    /// The state's last touch of the node: only now may the coroutine go on, since it
    /// may free the frame this node lives in. (The awaiter holds the future, so the
    /// state cannot die with the node linked.)
    void let_go() noexcept override { coroutine.resume(); }

    std::coroutine_handle<> coroutine;
};

/// Suspends until the future is done; resumes in the thread that completes it.
template <class Handle>
class FutureAwaiter {
public:
    explicit FutureAwaiter(const Handle& future) noexcept : future_(future) {}
    FutureAwaiter(const FutureAwaiter&) = delete;
    FutureAwaiter& operator=(const FutureAwaiter&) = delete;

    [[nodiscard]] bool await_ready() const noexcept { return future_.done(); }
    /// False (go on without suspending) when the future got done meanwhile.
    bool await_suspend(std::coroutine_handle<> coroutine) noexcept {
        node_.coroutine = coroutine;
        return FutureAccess::state(future_)->try_add_callback(&node_);
    }
    /// The value (a copy: other handles may read it too), or the future's exception.
    auto await_resume() const {
        if constexpr (std::is_same_v<Handle, AnyFuture>) {
            if (std::exception_ptr e = future_.exception()) std::rethrow_exception(e);
        } else if constexpr (std::is_void_v<typename Handle::value_type>) {
            future_.result();
        } else {
            return typename Handle::value_type(future_.result());
        }
    }

private:
    Handle future_;
    ResumeNode node_;
};

/// The promise of a coroutine returning Future<T>: it owns the future's state, and
/// completes it when the coroutine returns or throws.
template <class T>
class FuturePromiseBase {
public:
    Future<T> get_return_object() const noexcept { return future_; }
    // Eager, as a call is: the body runs in the caller until it first suspends.
    std::suspend_never initial_suspend() const noexcept { return {}; }
    // The frame frees itself at the end: the future keeps only the state.
    std::suspend_never final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { complete([&] { future_.set_exception(std::current_exception()); }); }

protected:
    /// Completes the future, unless its owner cancelled it (then the outcome is dropped).
    template <class Set>
    static void complete(Set&& set) noexcept {
        try {
            set();
        } catch (const InvalidStateError&) {  // cancelled while the coroutine ran
        }
    }

    Future<T> future_;
};

template <class T>
class FuturePromise final : public FuturePromiseBase<T> {
public:
    template <class U = T>
        requires std::is_constructible_v<T, U&&>
    void return_value(U&& value) noexcept {
        this->complete([&] { this->future_.set_result(std::forward<U>(value)); });
    }
};

template <>
class FuturePromise<void> final : public FuturePromiseBase<void> {
public:
    void return_void() noexcept {
        complete([&] { future_.set_result(); });
    }
};

/// co_await resume_on(ex): the rest of the coroutine is a call submitted to `ex`.
template <class Ex>
class ResumeOn {
public:
    explicit ResumeOn(Ex& ex) noexcept : ex_(&ex) {}
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    /// What submit throws (shut down, broken) is thrown from the co_await.
    void await_suspend(std::coroutine_handle<> coroutine) const {
        ex_->submit([coroutine] { coroutine.resume(); });
    }
    void await_resume() const noexcept {}

private:
    Ex* ex_;
};

}  // namespace detail

/// co_await f: suspends until f is done (not at all if it is), resumes in the thread
/// that completes it, and gives f.result()'s value or throws f's exception.
template <class T>
[[nodiscard]] detail::FutureAwaiter<Future<T>> operator co_await(const Future<T>& f) noexcept {
    return detail::FutureAwaiter<Future<T>>(f);
}
/// co_await on an AnyFuture: nothing, or the future's exception.
[[nodiscard]] inline detail::FutureAwaiter<AnyFuture> operator co_await(const AnyFuture& f) noexcept {
    return detail::FutureAwaiter<AnyFuture>(f);
}

/// `co_await cf::resume_on(ex)` goes on in one of ex's threads (ex: a ThreadPoolExecutor).
template <class Ex>
[[nodiscard]] detail::ResumeOn<Ex> resume_on(Ex& ex) noexcept {
    return detail::ResumeOn<Ex>(ex);
}

}  // namespace cf

/// @cond STD_SPECIALIZATION (Doxygen cannot place a member of namespace std)
/// A coroutine may return `cf::Future<T>`.
template <class T, class... Args>
struct std::coroutine_traits<cf::Future<T>, Args...> {
    using promise_type = cf::detail::FuturePromise<T>;
};
/// @endcond
