// cf::when_all: one future done when every input is, holding the inputs themselves.
// It never fails; each input is looked at through the future it gives back.
#pragma once

#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <tuple>
#include <utility>
#include <vector>

#include <cfutures/any_future.hpp>
#include <cfutures/detail/combined_state.hpp>
#include <cfutures/detail/future_range.hpp>
#include <cfutures/future.hpp>

namespace cf {
namespace detail {

/// Gathers its inputs as they finish; the last one to arrive builds the value.
/// `Build` turns the finished states, in input order, into the value V.
template <class V, class Build>
class WhenAllState final : public CombinedState<V> {
public:
    explicit WhenAllState(std::size_t inputs) : CombinedState<V>(inputs), finished_(inputs), remaining_(inputs + 1) {}

    /// Called once every input is watched: the "+1" in remaining_, so that the value is
    /// built only after the last watch, even when every input was done already.
    void watched_all() noexcept { count_down(); }

private:
    void arrived(std::size_t index, StateBase& input) noexcept override {
        finished_[index] = StateRef<StateBase>(&input);
        count_down();
    }

    void count_down() noexcept {
        if (remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        if (this->claim_finish()) this->store_and_commit(Build{}(finished_));
        finished_.clear();  // the value holds the inputs now; nothing else may
    }

    std::vector<StateRef<StateBase>> finished_;
    std::atomic<std::size_t> remaining_;
};

template <class Handle>
struct BuildVector {
    std::vector<Handle> operator()(const std::vector<StateRef<StateBase>>& states) const {
        std::vector<Handle> out;
        out.reserve(states.size());
        for (const auto& s : states) out.push_back(FutureAccess::from_state<Handle>(s.get()));
        return out;
    }
};

template <class... Ts>
struct BuildTuple {
    std::tuple<Future<Ts>...> operator()(const std::vector<StateRef<StateBase>>& states) const {
        return build(states, std::index_sequence_for<Ts...>{});
    }
    template <std::size_t... I>
    static std::tuple<Future<Ts>...> build(const std::vector<StateRef<StateBase>>& states, std::index_sequence<I...>) {
        return {FutureAccess::from_state<Future<Ts>>(states[I].get())...};
    }
};

template <class V, class Build>
Future<V> when_all_of(const std::vector<StateBase*>& inputs) {
    auto* state = new WhenAllState<V, Build>(inputs.size());
    auto all = FutureAccess::adopt_state<Future<V>>(state);
    for (std::size_t i = 0; i < inputs.size(); ++i) state->watch(i, *inputs[i]);
    state->watched_all();
    return all;
}

}  // namespace detail

/// A future done when every future of `futures` is (at once when the range is empty or
/// all are done already), whose value is those futures, in input order. It never fails.
/// Works over Future<T> (giving std::vector<Future<T>>) and AnyFuture (std::vector<AnyFuture>).
template <detail::future_range R>
[[nodiscard]] auto when_all(R&& futures) {
    using H = detail::handle_of_t<R>;
    return detail::when_all_of<std::vector<H>, detail::BuildVector<H>>(detail::states_of(futures));
}
template <class T>
[[nodiscard]] Future<std::vector<Future<T>>> when_all(std::initializer_list<Future<T>> futures) {
    return detail::when_all_of<std::vector<Future<T>>, detail::BuildVector<Future<T>>>(detail::states_of(futures));
}
[[nodiscard]] inline Future<std::vector<AnyFuture>> when_all(std::initializer_list<AnyFuture> futures) {
    return detail::when_all_of<std::vector<AnyFuture>, detail::BuildVector<AnyFuture>>(detail::states_of(futures));
}

/// when_all(fa, fb, ...): a future of std::tuple<Future<A>, Future<B>, ...>.
template <class... Ts>
    requires(sizeof...(Ts) > 0)
[[nodiscard]] Future<std::tuple<Future<Ts>...>> when_all(const Future<Ts>&... futures) {
    return detail::when_all_of<std::tuple<Future<Ts>...>, detail::BuildTuple<Ts...>>(
        {detail::FutureAccess::state(futures)...});
}

}  // namespace cf
