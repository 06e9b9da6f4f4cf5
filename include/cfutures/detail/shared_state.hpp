// The shared state behind every cf::Future: one heap object per future,
// intrusively reference-counted, that an executor extends with the call
// itself (see task_state.hpp) so that a task costs one allocation.
//
// State machine (Python's, plus one transient state and two ways to stop a running call):
//
//      PENDING ──cancel() / request_stop()─► CANCELLED ──set_running_or_notify_cancel()──► CANCELLED_AND_NOTIFIED
//         │                                   ▲  (done: waiters and callbacks fire here)
//         │                                   │ request_stop() of a call a process pool
//         │                                   │ stops (its worker killed or told to skip it)
//         ├─set_running_or_notify_cancel()─► RUNNING
//         │                                     │
//         └─set_result/set_exception──┐         │ set_result/set_exception, or the call's
//                                     │         │ timeout (TimeoutError) before it returns
//                                     ▼         ▼
//                                    FINISHING (claimed by one setter, value being stored)
//                                         │
//                                         ▼
//                                     FINISHED (done: waiters and callbacks fire here)
//
// A call whose future ended while it ran (stopped, timed out) still returns in a thread
// pool: its outcome finds the state done and is dropped.
//
// Invariants:
//  * The state word holds the state (bits 0-2), a LOCK bit guarding the
//    callback list, and a SLEEPERS bit set by threads parked on the word.
//  * Leaving PENDING is done by exactly one thread, and that thread owns the
//    call stored in a task: it runs it (RUNNING), drops it (CANCELLED) or
//    abandons it (an executor failing the task).
//  * Transitions into a done state happen with LOCK held, and detach the
//    callback list in the same critical section, so a callback added
//    concurrently is either fired by the completer or, seeing the state
//    done, by the adder, never both and never out of order.
//  * Internal waiter nodes (wait/as_completed) are fired with LOCK held, so
//    that their owner can unlink them and free them safely; user callbacks
//    fire after LOCK is released.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <iosfwd>
#include <memory>
#include <string>
#include <typeinfo>

#include <cfutures/detail/futex.hpp>
#include <cfutures/detail/pool_hooks.hpp>

namespace cf::detail {

enum class FutureState : std::uint32_t {
    pending = 0,
    running = 1,
    finishing = 2,
    cancelled = 3,
    cancelled_and_notified = 4,
    finished = 5,
};

class StateBase;

/// Something to run when a future becomes done.
class CallbackNode {
public:
    explicit CallbackNode(bool internal) noexcept : internal_(internal) {}
    CallbackNode(const CallbackNode&) = delete;
    CallbackNode& operator=(const CallbackNode&) = delete;
    virtual ~CallbackNode() = default;

    /// Runs the callback. Internal ones belong to their waiter, must not block and must
    /// not throw; user ones are let go of (let_go()) right after.
    virtual void fire(StateBase& state) = 0;
    /// The state lets go of a user node: after firing it, or when the state dies with the
    /// node still linked (its future never completed). The last touch of the node by the
    /// state. Deletes it unless the node lives elsewhere: a `then` continuation is its new
    /// future's state and drops a reference, a co_await resumes its coroutine.
    virtual void let_go() noexcept { delete this; }

    [[nodiscard]] bool internal() const noexcept { return internal_; }

private:
    friend class StateBase;
    CallbackNode* next_ = nullptr;
    bool internal_;
};

class StateBase : public QueueLink {
public:
    StateBase() noexcept = default;
    StateBase(const StateBase&) = delete;
    StateBase& operator=(const StateBase&) = delete;

    // ---- ownership --------------------------------------------------------
    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
    }
    /// Starts the count at `n` (a new task is held by its future and its queue).
    void init_refs(std::uint32_t n) noexcept { refs_.store(n, std::memory_order_relaxed); }

    // ---- observers --------------------------------------------------------
    [[nodiscard]] FutureState state() const noexcept {
        return static_cast<FutureState>(word_.load(std::memory_order_acquire) & kStateMask);
    }
    [[nodiscard]] bool done() const noexcept { return is_done(state()); }
    [[nodiscard]] bool cancelled() const noexcept {
        const auto s = state();
        return s == FutureState::cancelled || s == FutureState::cancelled_and_notified;
    }
    [[nodiscard]] bool running() const noexcept {
        const auto s = state();
        return s == FutureState::running || s == FutureState::finishing;
    }
    /// True when finished with an exception (not when cancelled). Only meaningful once done.
    [[nodiscard]] bool finished_with_exception() const noexcept {
        return state() == FutureState::finished && exception_ != nullptr;
    }

    // ---- Python's Future API ---------------------------------------------
    bool cancel() noexcept;
    /// request_stop(): PENDING -> CANCELLED (as cancel()); RUNNING -> whatever the executor
    /// running the call does (stop_running()); done -> as cancel().
    bool request_stop() noexcept;
    /// RUNNING -> FINISHED with `error` (a call's timeout). False when not RUNNING.
    bool fail_running(std::exception_ptr error) noexcept;
    /// Python's set_running_or_notify_cancel; throws InvalidStateError when not PENDING or CANCELLED.
    bool set_running_or_notify_cancel();
    void set_exception(std::exception_ptr e);
    /// Blocks until done or the deadline passes; returns done().
    bool wait(const Deadline& deadline) const noexcept;
    /// Python's exception(timeout): throws CancelledError / TimeoutError.
    std::exception_ptr exception(const Deadline& deadline) const;
    /// Python's add_done_callback: takes ownership of `node`; fires it at once if done.
    void add_callback(CallbackNode* node) noexcept;
    /// Links `node` and returns true; when the state is done already, returns false and
    /// leaves `node` to the caller, unfired (a co_await then goes on without suspending).
    bool try_add_callback(CallbackNode* node) noexcept;
    /// Unlinks an internal node if still linked. Returns whether it was.
    bool remove_callback(CallbackNode* node) noexcept;

    // ---- executor side ------------------------------------------------------
    /// Runs the task this state belongs to (executors call it exactly once).
    virtual void run() noexcept {}
    /// Fails a task that will never run (broken or shut-down executor), dropping its call.
    void abandon(std::exception_ptr e) noexcept;

    /// The type of the result (typeid(void) for Future<void>).
    [[nodiscard]] const std::type_info& value_type() const noexcept { return result_type(); }

    /// A remote call whose stop token was asked to stop (request_stop()) and whose worker
    /// has not been told yet: true once, for the manager that tells it.
    virtual bool take_stop_request() noexcept { return false; }

    /// Gives a waiter something to try before it parks (only states made for it keep it).
    virtual void set_wait_helper(std::shared_ptr<WaitHelper> /*helper*/) noexcept {}

    // ---- printing ------------------------------------------------------------
    /// Python's repr: <Future at 0x... state=finished returned int>.
    void print(std::ostream& os) const;
    [[nodiscard]] std::string repr() const;

protected:
    /// Lets go of the user nodes still linked: a future that never completed.
    virtual ~StateBase();
    /// Deletes the most-derived object.
    virtual void destroy() noexcept = 0;
    /// Drops the stored call (task states only); called by whoever took the task out of PENDING
    /// without running it.
    virtual void release_call() noexcept {}
    /// The type of the result, for repr.
    [[nodiscard]] virtual const std::type_info& result_type() const noexcept = 0;
    /// request_stop() of a RUNNING call: what its executor does (a stop token asked, a
    /// worker told). True when the call is being stopped; false by default.
    virtual bool stop_running() noexcept { return false; }
    /// RUNNING -> CANCELLED, firing waiters and callbacks. False when not RUNNING.
    bool cancel_running() noexcept;
    /// What wait() tries before it parks, if anything.
    [[nodiscard]] virtual WaitHelper* wait_helper() const noexcept { return nullptr; }

    /// PENDING/RUNNING -> FINISHING. Returns false when another setter won or it is done.
    bool claim_finish() noexcept;
    /// FINISHING -> FINISHED, waking sleepers and firing callbacks.
    void commit_finish() noexcept;
    /// Completes a state that no other thread can see yet (so no waiter, no callback,
    /// no canceller): a plain store where commit_finish() takes the lock.
    void finish_unshared() noexcept {
        word_.store(static_cast<std::uint32_t>(FutureState::finished), std::memory_order_release);
    }
    /// Throws the InvalidStateError for a setter that lost.
    [[noreturn]] void throw_already_done() const;
    /// PENDING -> RUNNING (true) or CANCELLED -> CANCELLED_AND_NOTIFIED (false), without throwing;
    /// false too when the state is anything else.
    bool try_start() noexcept;

    std::exception_ptr exception_;

private:
    static constexpr std::uint32_t kStateMask = 0x7;
    static constexpr std::uint32_t kLock = 0x8;
    static constexpr std::uint32_t kSleepers = 0x10;

    static bool is_done(FutureState s) noexcept { return s >= FutureState::cancelled; }

    std::uint32_t lock() noexcept;
    /// Releases LOCK and sets `new_state`; returns the word before.
    std::uint32_t unlock_to(FutureState new_state) noexcept;
    bool cas_state(FutureState from, FutureState to) noexcept;
    /// Called with LOCK held after a transition to done: fires internal nodes,
    /// returns the user callbacks in the order they were added.
    CallbackNode* take_callbacks_locked() noexcept;
    void finish_transition(std::uint32_t old_word, CallbackNode* user_callbacks) noexcept;

    mutable std::atomic<std::uint32_t> word_{0};
    std::atomic<std::uint32_t> refs_{1};
    CallbackNode* callbacks_ = nullptr;  // newest first; guarded by LOCK
};

/// Reports an exception that escaped a done-callback (stderr unless a handler is set).
void report_callback_error(const StateBase& state, std::exception_ptr error) noexcept;

/// Fires a user callback, reporting what escapes it, then lets go of it.
void fire_user_callback(CallbackNode* node, StateBase& state) noexcept;

}  // namespace cf::detail
