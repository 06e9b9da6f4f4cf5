// The object wait() and as_completed() park on: one internal callback node
// per watched future, all reporting to one mutex and condition variable
// (Python's _Waiter family in one class).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <cfutures/detail/futex.hpp>
#include <cfutures/detail/shared_state.hpp>

namespace cf::detail {

class Waiter {
public:
    enum class Kind {
        any,              // wakes at every completion (as_completed, FIRST_COMPLETED)
        all,              // wakes when every watched future is done (ALL_COMPLETED)
        all_or_exception  // ... or at the first one that raised (FIRST_EXCEPTION)
    };

    /// Installs itself on every state in `states` (none of them may repeat).
    Waiter(Kind kind, const std::vector<StateBase*>& states);
    /// Uninstalls itself from every state it still watches.
    ~Waiter();
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;

    /// Blocks until the waiter's condition holds or the deadline passes; returns whether it holds.
    bool wait(const Deadline& deadline);
    /// The states that completed since the last call, in completion order; resets the condition.
    std::vector<StateBase*> take_finished();

private:
    class Node final : public CallbackNode {
    public:
        Node() noexcept : CallbackNode(/*internal=*/true) {}
        void fire(StateBase&) noexcept override { waiter->on_done(*this); }
        Waiter* waiter = nullptr;
        StateBase* state = nullptr;
        // Set when the node has fired (guarded by the waiter's mutex_). A fired node is off
        // its state's list, and its state may be gone already (as_completed hands a future
        // over once done and keeps no reference to it): the destructor must not touch it.
        bool fired = false;
    };

    void on_done(Node& node) noexcept;

    Kind kind_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<StateBase*> finished_;  // guarded by mutex_
    std::size_t remaining_;             // guarded by mutex_
    bool signalled_ = false;            // guarded by mutex_
    std::size_t node_count_;
    std::unique_ptr<Node[]> nodes_;
};

}  // namespace cf::detail
