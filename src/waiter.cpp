#include <cfutures/detail/waiter.hpp>

#include <utility>

namespace cf::detail {

Waiter::Waiter(Kind kind, const std::vector<StateBase*>& states)
    : kind_(kind), remaining_(states.size()), node_count_(states.size()), nodes_(new Node[states.size()]) {
    if (states.empty()) signalled_ = kind_ != Kind::any;
    for (std::size_t i = 0; i < node_count_; ++i) {
        nodes_[i].waiter = this;
        nodes_[i].state = states[i];
        states[i]->add_callback(&nodes_[i]);  // fires at once if the state is done by now
    }
}

Waiter::~Waiter() {
    // remove_callback takes each state's lock, so a node firing right now finishes first.
    // A node that has fired is skipped: its state may have been freed since. One that has
    // not fired yet belongs to a future its owner still holds (wait's list, as_completed's
    // pending set), so its state is alive.
    for (std::size_t i = 0; i < node_count_; ++i) {
        bool fired;
        {
            std::lock_guard g(mutex_);
            fired = nodes_[i].fired;
        }
        if (!fired) nodes_[i].state->remove_callback(&nodes_[i]);
    }
}

void Waiter::on_done(Node& node) noexcept {
    std::lock_guard g(mutex_);
    node.fired = true;
    StateBase& s = *node.state;
    finished_.push_back(&s);
    switch (kind_) {
        case Kind::any: signalled_ = true; break;
        case Kind::all_or_exception:
            if (s.finished_with_exception()) {
                signalled_ = true;
                break;
            }
            [[fallthrough]];
        case Kind::all:
            if (--remaining_ == 0) signalled_ = true;
            break;
    }
    // Notify under the mutex: once it is released the waiter may be destroyed.
    if (signalled_) cv_.notify_all();
}

bool Waiter::wait(const Deadline& deadline) {
    std::unique_lock g(mutex_);
    if (!deadline || *deadline == Clock::time_point::max()) {
        cv_.wait(g, [&] { return signalled_; });
        return true;
    }
    return cv_.wait_until(g, *deadline, [&] { return signalled_; });
}

std::vector<StateBase*> Waiter::take_finished() {
    std::lock_guard g(mutex_);
    if (kind_ == Kind::any) signalled_ = false;
    return std::exchange(finished_, {});
}

}  // namespace cf::detail
