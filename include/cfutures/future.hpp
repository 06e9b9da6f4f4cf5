// cf::Future<T>: Python's concurrent.futures.Future as a cheap, copyable,
// shared handle. The state machine is drawn in detail/shared_state.hpp.
#pragma once

#include <cfutures/detail/chrono.hpp>
#include <cstddef>
#include <exception>
#include <cfutures/detail/functional.hpp>
#include <optional>
#include <iosfwd>
#include <string>
#include <type_traits>
#include <utility>

#include <cfutures/callback_errors.hpp>
#include <cfutures/detail/deadline.hpp>
#include <cfutures/detail/result_state.hpp>
#include <cfutures/detail/state_ref.hpp>
#include <cfutures/errors.hpp>

namespace cf {

template <class T>
class Future;

namespace detail {

/// A done-callback added by a user: calls `fn` with a handle of type `Handle`.
template <class Handle, class Fn>
class UserCallback final : public CallbackNode {
public:
    explicit UserCallback(Fn fn) : CallbackNode(/*internal=*/false), fn_(std::move(fn)) {}
    void fire(StateBase& s) override {
        const Handle h = FutureAccess::from_state<Handle>(&s);
        detail::invoke(fn_, h);
    }

private:
    Fn fn_;
};

template <class T>
struct is_future : std::false_type {};
template <class T>
struct is_future<Future<T>> : std::true_type {};

}  // namespace detail

/// The result of an asynchronous call.
///
/// Copies share one state: `==` compares identity, and std::hash<Future<T>>
/// exists. A default-constructed Future is a new PENDING future, as Python's
/// `Future()`; executors hand out futures already bound to a call.
/// All members are const: they act on the shared state, not on the handle.
template <class T>
class Future {
public:
    /// The call's result type.
    using value_type = T;

    /// A new PENDING future (for tests and executor authors).
    Future() : state_(detail::adopt, new detail::ResultState<T>()) {}

    /// PENDING -> CANCELLED and true; RUNNING or FINISHED -> false; already cancelled -> true.
    bool cancel() const noexcept { return state_->cancel(); }
    /// Stops the call, pending or running, and the executor lives on. Pending: cancelled,
    /// true. Running in a process pool: CANCELLED when it returns (the worker running it
    /// is killed and replaced, or skips it if it has not begun it), true. Running in a
    /// thread pool or an MPI executor: its std::stop_token is asked to stop, true when the
    /// callable takes one (the future then ends as the call does), else false. Done, or a
    /// future no executor runs: as cancel().
    bool request_stop() const noexcept { return state_->request_stop(); }
    /// True once cancelled.
    [[nodiscard]] bool cancelled() const noexcept { return state_->cancelled(); }
    /// True while the call runs (RUNNING).
    [[nodiscard]] bool running() const noexcept { return state_->running(); }
    /// True once cancelled or finished.
    [[nodiscard]] bool done() const noexcept { return state_->done(); }

    /// Waits for the call and returns its value (const T&; nothing for void).
    /// Throws CancelledError, or the call's own exception with its dynamic type.
    decltype(auto) result() const { return state_->get(std::nullopt); }
    /// As result(), throwing TimeoutError once `timeout` has passed. Zero or negative: don't block.
    template <class Rep, class Period>
    decltype(auto) result(std::chrono::duration<Rep, Period> timeout) const {
        const detail::Deadline deadline = detail::deadline_after(timeout);
        if (!state_->wait(deadline)) detail::throw_timeout("result()", timeout);
        return state_->get(deadline);
    }

    /// The call's exception, or null when it succeeded. Throws CancelledError.
    [[nodiscard]] std::exception_ptr exception() const { return state_->exception(std::nullopt); }
    /// As exception(), throwing TimeoutError once `timeout` has passed.
    template <class Rep, class Period>
    [[nodiscard]] std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
        const detail::Deadline deadline = detail::deadline_after(timeout);
        if (!state_->wait(deadline)) detail::throw_timeout("exception()", timeout);
        return state_->exception(deadline);
    }

    /// Calls `fn(const Future<T>&)` when the future is done (cancelled or finished),
    /// in the order added; at once, in this thread, if it is done already.
    /// An exception escaping `fn` goes to the callback error handler.
    template <class Fn>
        requires std::invocable<std::decay_t<Fn>&, const Future<T>&>
    void add_done_callback(Fn&& fn) const {
        state_->add_callback(new detail::UserCallback<Future<T>, std::decay_t<Fn>>(std::forward<Fn>(fn)));
    }

    // ---- composing (defined in then.hpp) ------------------------------------------

    /// A future of `fn` run on this one's value (nothing for `Future<void>`) or on this
    /// future itself once done. A value continuation is skipped on error and cancellation
    /// (the new future ends the same way). `fn` runs in the thread that completes this
    /// future, or at once in this thread when it is done. A `fn` returning `Future<U>`
    /// gives a `Future<U>` that follows it. One allocation.
    template <class Fn>
    auto then(Fn&& fn) const;
    /// A value continuation run as `ex.submit(fn, value)`, for any executor `ex`; the new
    /// future fails with what submit throws when `ex` refuses the call.
    template <class Ex, class Fn>
    auto then(Ex& ex, Fn&& fn) const;

    // ---- executor side --------------------------------------------------------

    /// PENDING -> RUNNING and true; CANCELLED -> false (waiters were told at cancel()).
    /// Throws InvalidStateError in any other state.
    bool set_running_or_notify_cancel() const { return state_->set_running_or_notify_cancel(); }

    /// Completes the future with a value; throws InvalidStateError if it is done.
    template <class U = T>
        requires(!std::is_void_v<T> && std::is_constructible_v<T, U &&>)
    void set_result(U&& value) const {
        state_->set_result(std::forward<U>(value));
    }
    /// Completes a Future<void>; throws InvalidStateError if it is done.
    void set_result() const
        requires std::is_void_v<T>
    {
        state_->set_result();
    }
    /// Completes the future with an exception; throws InvalidStateError if it is done.
    void set_exception(std::exception_ptr error) const { state_->set_exception(std::move(error)); }
    /// As set_exception(std::make_exception_ptr(error)).
    template <class E>
        requires(!std::is_same_v<std::decay_t<E>, std::exception_ptr>)
    void set_exception(E&& error) const {
        set_exception(std::make_exception_ptr(std::forward<E>(error)));
    }

    /// Identity: true when both handles refer to the same future.
    friend bool operator==(const Future& a, const Future& b) noexcept { return a.state_.get() == b.state_.get(); }

    /// Python's repr: `<Future at 0x... state=finished returned int>`.
    friend std::ostream& operator<<(std::ostream& os, const Future& f) {
        f.state_->print(os);
        return os;
    }
    /// What operator<< prints.
    [[nodiscard]] std::string repr() const { return state_->repr(); }

private:
    friend struct detail::FutureAccess;
    explicit Future(detail::StateBase* s) noexcept : state_(static_cast<detail::ResultState<T>*>(s)) {}
    Future(detail::adopt_t, detail::StateBase* s) noexcept
        : state_(detail::adopt, static_cast<detail::ResultState<T>*>(s)) {}

    detail::StateRef<detail::ResultState<T>> state_;
};

}  // namespace cf

/// @cond STD_SPECIALIZATION (Doxygen cannot place a member of namespace std)
/// Hashes the identity, as operator== compares it.
template <class T>
struct std::hash<cf::Future<T>> {
    std::size_t operator()(const cf::Future<T>& f) const noexcept {
        return std::hash<const void*>{}(cf::detail::FutureAccess::state(f));
    }
};
/// @endcond

#include <cfutures/then.hpp>  // Future::then's definitions
