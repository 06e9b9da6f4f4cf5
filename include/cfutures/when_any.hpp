// cf::when_any: a future of the position of the first input to be done.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <vector>

#include <cfutures/any_future.hpp>
#include <cfutures/detail/combined_state.hpp>
#include <cfutures/detail/future_range.hpp>
#include <cfutures/future.hpp>

namespace cf {
namespace detail {

/// The first input to arrive sets the position; the others' nodes stay hung on their
/// inputs (keeping only this small state alive) until those end.
class WhenAnyState final : public CombinedState<std::size_t> {
public:
    using CombinedState<std::size_t>::CombinedState;

private:
    void arrived(std::size_t index, StateBase&) noexcept override {
        if (this->claim_finish()) this->store_and_commit(index);
    }
};

inline Future<std::size_t> when_any_of(const std::vector<StateBase*>& inputs) {
    if (inputs.empty()) throw std::invalid_argument("when_any() needs at least one future, and the range is empty");
    // Done already: the lowest such position, without hanging a node anywhere.
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i]->done()) {
            Future<std::size_t> first;
            first.set_result(i);
            return first;
        }
    }
    auto* state = new WhenAnyState(inputs.size());
    auto first = FutureAccess::adopt_state<Future<std::size_t>>(state);
    for (std::size_t i = 0; i < inputs.size(); ++i) state->watch(i, *inputs[i]);
    return first;
}

}  // namespace detail

/// A future of the position in `futures` of the first one done (the lowest position
/// among those done already, at once). Throws std::invalid_argument for an empty range.
/// Works over Future<T> and AnyFuture; keeps none of them alive.
template <detail::future_range R>
[[nodiscard]] Future<std::size_t> when_any(R&& futures) {
    return detail::when_any_of(detail::states_of(futures));
}
template <class T>
[[nodiscard]] Future<std::size_t> when_any(std::initializer_list<Future<T>> futures) {
    return detail::when_any_of(detail::states_of(futures));
}
[[nodiscard]] inline Future<std::size_t> when_any(std::initializer_list<AnyFuture> futures) {
    return detail::when_any_of(detail::states_of(futures));
}

}  // namespace cf
