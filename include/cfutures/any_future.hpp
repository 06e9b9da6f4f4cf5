// cf::AnyFuture: a type-erased future handle, so that wait and as_completed
// work over futures of different result types.
#pragma once

#include <cfutures/detail/chrono.hpp>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <iosfwd>
#include <string>
#include <typeinfo>

#include <cfutures/future.hpp>

namespace cf {

/// Any Future<T> converts to it implicitly. It shares the same state:
/// equality and hash agree with the Future it came from.
class AnyFuture {
public:
    /// The same future as `f`, its result type erased.
    template <class T>
    AnyFuture(const Future<T>& f) noexcept  // NOLINT: implicit by design
        : state_(detail::FutureAccess::state(f)) {}

    /// As Future::cancel().
    bool cancel() const noexcept { return state_->cancel(); }
    /// As Future::request_stop().
    bool request_stop() const noexcept { return state_->request_stop(); }
    /// True once cancelled.
    [[nodiscard]] bool cancelled() const noexcept { return state_->cancelled(); }
    /// True while the call runs (RUNNING).
    [[nodiscard]] bool running() const noexcept { return state_->running(); }
    /// True once cancelled or finished.
    [[nodiscard]] bool done() const noexcept { return state_->done(); }

    /// As Future::exception(): the call's exception, or null when it succeeded.
    [[nodiscard]] std::exception_ptr exception() const { return state_->exception(std::nullopt); }
    /// As exception(), throwing TimeoutError once `timeout` has passed.
    template <class Rep, class Period>
    [[nodiscard]] std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
        const detail::Deadline deadline = detail::deadline_after(timeout);
        if (!state_->wait(deadline)) detail::throw_timeout("exception()", timeout);
        return state_->exception(deadline);
    }

    /// Calls `fn(const AnyFuture&)` when done; same rules as Future::add_done_callback.
    template <class Fn>
        requires std::invocable<std::decay_t<Fn>&, const AnyFuture&>
    void add_done_callback(Fn&& fn) const {
        state_->add_callback(new detail::UserCallback<AnyFuture, std::decay_t<Fn>>(std::forward<Fn>(fn)));
    }

    /// The result type of the future this handle erases.
    [[nodiscard]] const std::type_info& result_type() const noexcept { return state_->value_type(); }

    /// The typed handle back; throws std::bad_cast when T is not the result type.
    template <class T>
    [[nodiscard]] Future<T> as() const {
        if (result_type() != typeid(T)) throw std::bad_cast();
        return detail::FutureAccess::from_state<Future<T>>(state_.get());
    }

    /// Identity: the same future, also when compared with the Future it came from.
    friend bool operator==(const AnyFuture& a, const AnyFuture& b) noexcept { return a.state_.get() == b.state_.get(); }
    /// Python's repr: `<Future at 0x... state=finished returned int>`.
    friend std::ostream& operator<<(std::ostream& os, const AnyFuture& f) {
        f.state_->print(os);
        return os;
    }
    /// What operator<< prints.
    [[nodiscard]] std::string repr() const { return state_->repr(); }

private:
    friend struct detail::FutureAccess;
    explicit AnyFuture(detail::StateBase* s) noexcept : state_(s) {}
    AnyFuture(detail::adopt_t, detail::StateBase* s) noexcept : state_(detail::adopt, s) {}

    detail::StateRef<detail::StateBase> state_;
};

}  // namespace cf

/// @cond STD_SPECIALIZATION (Doxygen cannot place a member of namespace std)
/// Hashes the identity, as operator== compares it.
template <>
struct std::hash<cf::AnyFuture> {
    std::size_t operator()(const cf::AnyFuture& f) const noexcept {
        return std::hash<const void*>{}(cf::detail::FutureAccess::state(f));
    }
};
/// @endcond
