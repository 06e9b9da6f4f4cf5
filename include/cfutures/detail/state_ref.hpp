// An intrusive reference to a shared state: what every future handle holds.
#pragma once

#include <utility>

#include <cfutures/detail/shared_state.hpp>

namespace cf::detail {

struct adopt_t {
    explicit adopt_t() = default;
};
/// Tag: take over a reference already counted rather than adding one.
inline constexpr adopt_t adopt{};

template <class S>
class StateRef {
public:
    StateRef() noexcept = default;
    StateRef(adopt_t, S* p) noexcept : p_(p) {}
    explicit StateRef(S* p) noexcept : p_(p) {
        if (p_) p_->add_ref();
    }
    StateRef(const StateRef& o) noexcept : StateRef(o.p_) {}
    StateRef(StateRef&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    StateRef& operator=(StateRef o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~StateRef() {
        if (p_) p_->release();
    }

    S* get() const noexcept { return p_; }
    S* operator->() const noexcept { return p_; }
    /// Gives up the reference without releasing it.
    S* detach() noexcept { return std::exchange(p_, nullptr); }

private:
    S* p_ = nullptr;
};

/// The one door through which wait/as_completed/executors reach a handle's state.
struct FutureAccess {
    template <class Handle>
    static StateBase* state(const Handle& h) noexcept {
        return h.state_.get();
    }
    /// A new handle sharing `s` (adds a reference).
    template <class Handle>
    static Handle from_state(StateBase* s) noexcept {
        return Handle(s);
    }
    /// A handle taking over a reference the caller already holds.
    template <class Handle>
    static Handle adopt_state(StateBase* s) noexcept {
        return Handle(adopt, s);
    }
};

}  // namespace cf::detail
