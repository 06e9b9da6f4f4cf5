// Future<T>::then: continuations that chain futures. The states behind them are
// in detail/continuation.hpp; where each continuation runs is in docs/design.md.
// Included by future.hpp: every Future has then().
#pragma once

#include <type_traits>
#include <utility>

// future.hpp first: it includes this file at its end, once Future is complete.
#include <cfutures/future.hpp>
// clang-format off
#include <cfutures/detail/continuation.hpp>
// clang-format on

namespace cf {

template <class T>
template <class Fn>
auto Future<T>::then(Fn&& fn) const {
    using F = std::decay_t<Fn>;
    static_assert(std::disjunction_v<detail::takes_value<T, F>, std::is_invocable<F, Future<T>>>,
                  "then(fn): fn must take the future's value (nothing for a Future<void>) or the cf::Future itself");
    using State = detail::ThenState<T, F>;
    auto* state = new State(F(std::forward<Fn>(fn)));
    auto next = detail::FutureAccess::adopt_state<Future<typename State::chained_type>>(state);
    if (state_->done()) state->run_now(*state_.get());  // as add_callback would, minus the lock
    else state_->add_callback(state);                   // the list takes the state's second reference
    return next;
}

template <class T>
template <class Ex, class Fn>
auto Future<T>::then(Ex& ex, Fn&& fn) const {
    using F = std::decay_t<Fn>;
    using State = detail::ExecutorThenState<T, Ex, F>;
    auto* state = new State(ex, F(std::forward<Fn>(fn)));
    auto next = detail::FutureAccess::adopt_state<Future<typename State::chained_type>>(state);
    state_->add_callback(state);
    return next;
}

}  // namespace cf
