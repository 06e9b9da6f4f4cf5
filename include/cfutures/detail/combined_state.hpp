// The state of a future made of several (when_all, when_any): one callback node
// per input, all in one array inside the combined state, each holding a
// reference to it. An input that completes fires its node; an input that dies
// unfinished lets go of it. The combined state never holds an unfinished input,
// so nothing cycles: it is freed when its future and every node are gone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ranges>
#include <memory>
#include <vector>

#include <cfutures/detail/result_state.hpp>
#include <cfutures/detail/state_ref.hpp>

namespace cf::detail {

template <class V>
class CombinedState : public ResultState<V> {
public:
    /// One reference for the returned future, one for each input's node.
    explicit CombinedState(std::size_t inputs) : nodes_(new Node[inputs]) {
        this->init_refs(static_cast<std::uint32_t>(inputs + 1));
        for (std::size_t i = 0; i < inputs; ++i) {
            nodes_[i].owner = this;
            nodes_[i].index = i;
        }
    }

    /// Hangs node `index` on `input`; it fires at once if `input` is done.
    void watch(std::size_t index, StateBase& input) noexcept { input.add_callback(&nodes_[index]); }

protected:
    /// Input `index` is done (on the thread that completed it).
    virtual void arrived(std::size_t index, StateBase& input) noexcept = 0;

private:
    struct Node final : CallbackNode {
        Node() noexcept : CallbackNode(/*internal=*/false) {}
        void fire(StateBase& input) noexcept override { owner->arrived(index, input); }
        void let_go() noexcept override { owner->release(); }
        CombinedState* owner = nullptr;
        std::size_t index = 0;
    };

    std::unique_ptr<Node[]> nodes_;
};

/// The states of a range of futures, in input order (duplicates kept).
template <class R>
std::vector<StateBase*> states_of(R&& futures) {
    std::vector<StateBase*> states;
    if constexpr (std::ranges::sized_range<R>) states.reserve(std::ranges::size(futures));
    for (auto&& f : futures) states.push_back(FutureAccess::state(f));
    return states;
}

}  // namespace cf::detail
