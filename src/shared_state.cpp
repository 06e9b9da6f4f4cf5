#include <cfutures/detail/shared_state.hpp>

#include <sched.h>

#include <climits>
#include <iostream>
#include <sstream>

#include <cfutures/detail/type_name.hpp>
#include <cfutures/errors.hpp>

namespace cf::detail {

namespace {
constexpr int kSpinsBeforeYield = 64;
// How long result() spins before it parks: a call that is about to finish costs no syscall.
// Zero means one round of spin_for's 32 pauses, about a microsecond: enough for a
// thread-pool round trip (0.7 µs), and no longer, because a waiter that spins while
// its worker is being woken on the same CPU delays that worker (on 2 CPUs, 4 µs of
// spinning made a round trip on a pool idle for 1 ms take 12 µs instead of 8).
constexpr std::chrono::microseconds kSpinBeforePark{0};

const char* describe(FutureState s) noexcept {
    switch (s) {
        case FutureState::pending: return "pending";
        case FutureState::running:
        case FutureState::finishing: return "running";
        case FutureState::cancelled:
        case FutureState::cancelled_and_notified: return "cancelled";
        case FutureState::finished: return "finished";
    }
    return "unknown";
}

// Python's state constants, which its InvalidStateError messages start with.
const char* python_state_name(FutureState s) noexcept {
    switch (s) {
        case FutureState::pending: return "PENDING";
        case FutureState::running: return "RUNNING";
        case FutureState::cancelled: return "CANCELLED";
        case FutureState::cancelled_and_notified: return "CANCELLED_AND_NOTIFIED";
        case FutureState::finishing:
        case FutureState::finished: return "FINISHED";
    }
    return "UNKNOWN";
}
}  // namespace

std::uint32_t StateBase::lock() noexcept {
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    for (int spins = 0;; ++spins) {
        if (!(w & kLock)) {
            if (word_.compare_exchange_weak(w, w | kLock, std::memory_order_acquire, std::memory_order_relaxed))
                return w;
            continue;
        }
        // The lock only guards pointer swaps and waiter notifications: spin, then yield.
        if (spins < kSpinsBeforeYield) cpu_relax();
        else sched_yield();
        w = word_.load(std::memory_order_relaxed);
    }
}

bool StateBase::cas_state(FutureState from, FutureState to) noexcept {
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    while (static_cast<FutureState>(w & kStateMask) == from) {
        const std::uint32_t nw = (w & ~kStateMask) | static_cast<std::uint32_t>(to);
        if (word_.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_relaxed)) return true;
    }
    return false;
}

CallbackNode* StateBase::take_callbacks_locked() noexcept {
    CallbackNode* user = nullptr;
    CallbackNode* n = callbacks_;
    callbacks_ = nullptr;
    // The list is newest first; prepending user nodes while walking it leaves them oldest first.
    while (n) {
        CallbackNode* next = n->next_;
        if (n->internal()) {
            n->fire(*this);
        } else {
            n->next_ = user;
            user = n;
        }
        n = next;
    }
    return user;
}

void StateBase::finish_transition(std::uint32_t old_word, CallbackNode* user_callbacks) noexcept {
    if (old_word & kSleepers) {
        futex_wake(word_, INT_MAX);
        tls_woke_sleepers = true;
    }
    while (user_callbacks) {
        CallbackNode* next = user_callbacks->next_;
        fire_user_callback(user_callbacks, *this);
        user_callbacks = next;
    }
}

bool StateBase::cancel_running() noexcept {
    std::uint32_t w = lock() | kLock;
    for (;;) {
        if (static_cast<FutureState>(w & kStateMask) != FutureState::running) {
            word_.fetch_and(~kLock, std::memory_order_release);
            return false;
        }
        const std::uint32_t nw = kLock | static_cast<std::uint32_t>(FutureState::cancelled);
        if (word_.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
    }
    CallbackNode* user = take_callbacks_locked();
    word_.fetch_and(~kLock, std::memory_order_release);
    finish_transition(w, user);
    return true;
}

bool StateBase::request_stop() noexcept {
    if (cancel()) return true;  // pending, or cancelled already
    return state() == FutureState::running && stop_running();
}

bool StateBase::fail_running(std::exception_ptr error) noexcept {
    if (state() != FutureState::running || !claim_finish()) return false;
    exception_ = std::move(error);
    commit_finish();
    return true;
}

bool StateBase::cancel() noexcept {
    std::uint32_t w = lock() | kLock;
    for (;;) {
        const auto s = static_cast<FutureState>(w & kStateMask);
        if (s != FutureState::pending) {
            word_.fetch_and(~kLock, std::memory_order_release);
            return s == FutureState::cancelled || s == FutureState::cancelled_and_notified;
        }
        const std::uint32_t nw = kLock | static_cast<std::uint32_t>(FutureState::cancelled);
        if (word_.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
    }
    CallbackNode* user = take_callbacks_locked();
    word_.fetch_and(~kLock, std::memory_order_release);
    // Whoever leaves PENDING owns the call: drop it now rather than when the queue gets to it.
    release_call();
    finish_transition(w, user);
    return true;
}

bool StateBase::try_start() noexcept {
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
        const auto s = static_cast<FutureState>(w & kStateMask);
        FutureState to;
        if (s == FutureState::pending) to = FutureState::running;
        else if (s == FutureState::cancelled) to = FutureState::cancelled_and_notified;
        else return false;
        const std::uint32_t nw = (w & ~kStateMask) | static_cast<std::uint32_t>(to);
        if (word_.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_relaxed))
            return to == FutureState::running;
    }
}

bool StateBase::set_running_or_notify_cancel() {
    const auto before = state();
    if (before != FutureState::pending && before != FutureState::cancelled) {
        throw InvalidStateError("Future in unexpected state: " + repr());
    }
    if (try_start()) return true;
    if (state() == FutureState::cancelled_and_notified) return false;
    throw InvalidStateError("Future in unexpected state: " + repr());
}

bool StateBase::claim_finish() noexcept {
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
        const auto s = static_cast<FutureState>(w & kStateMask);
        if (s != FutureState::pending && s != FutureState::running) return false;
        const std::uint32_t nw = (w & ~kStateMask) | static_cast<std::uint32_t>(FutureState::finishing);
        if (word_.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_relaxed)) return true;
    }
}

void StateBase::commit_finish() noexcept {
    // We own FINISHING: take the lock and move to FINISHED in one step, clearing SLEEPERS.
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    for (int spins = 0;; ++spins) {
        if (!(w & kLock)) {
            const std::uint32_t nw = kLock | static_cast<std::uint32_t>(FutureState::finished);
            if (word_.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
            continue;
        }
        if (spins < kSpinsBeforeYield) cpu_relax();
        else sched_yield();
        w = word_.load(std::memory_order_relaxed);
    }
    CallbackNode* user = callbacks_ ? take_callbacks_locked() : nullptr;
    word_.fetch_and(~kLock, std::memory_order_release);
    finish_transition(w, user);
}

void StateBase::throw_already_done() const {
    throw InvalidStateError(std::string(python_state_name(state())) + ": " + repr());
}

void StateBase::set_exception(std::exception_ptr e) {
    if (!claim_finish()) throw_already_done();
    exception_ = std::move(e);
    commit_finish();
}

void StateBase::abandon(std::exception_ptr e) noexcept {
    if (!cas_state(FutureState::pending, FutureState::finishing)) return;
    release_call();
    exception_ = std::move(e);
    commit_finish();
}

bool StateBase::wait(const Deadline& deadline) const noexcept {
    if (done()) return true;
    if (deadline && Clock::now() >= *deadline) return false;  // a zero timeout does not even spin
    if (spin_for([this] { return done(); }, kSpinBeforePark)) return true;
    if (WaitHelper* helper = wait_helper()) {
        helper->help(*this, deadline);
        if (done()) return true;
    }
    std::uint32_t w = word_.load(std::memory_order_acquire);
    for (;;) {
        if (is_done(static_cast<FutureState>(w & kStateMask))) return true;
        if (!(w & kSleepers)) {
            if (!word_.compare_exchange_weak(w, w | kSleepers, std::memory_order_acq_rel, std::memory_order_acquire))
                continue;
            w |= kSleepers;
        }
        if (!futex_wait(word_, w, deadline)) return done();
        w = word_.load(std::memory_order_acquire);
    }
}

std::exception_ptr StateBase::exception(const Deadline& deadline) const {
    if (!wait(deadline)) throw TimeoutError();
    if (cancelled()) throw CancelledError();
    return exception_;
}

void StateBase::add_callback(CallbackNode* node) noexcept {
    if (try_add_callback(node)) return;
    if (node->internal()) node->fire(*this);
    else fire_user_callback(node, *this);
}

bool StateBase::try_add_callback(CallbackNode* node) noexcept {
    const std::uint32_t w = lock();
    if (is_done(static_cast<FutureState>(w & kStateMask))) {
        word_.fetch_and(~kLock, std::memory_order_release);
        return false;
    }
    node->next_ = callbacks_;
    callbacks_ = node;
    word_.fetch_and(~kLock, std::memory_order_release);
    return true;
}

StateBase::~StateBase() {
    // A `then` chain whose source never completes is freed here, link by link. Internal
    // nodes belong to waiters, whose callers hold the futures they wait on.
    for (CallbackNode* n = callbacks_; n;) {
        CallbackNode* next = n->next_;
        if (!n->internal()) n->let_go();
        n = next;
    }
}

bool StateBase::remove_callback(CallbackNode* node) noexcept {
    lock();
    bool found = false;
    for (CallbackNode** link = &callbacks_; *link; link = &(*link)->next_) {
        if (*link == node) {
            *link = node->next_;
            found = true;
            break;
        }
    }
    word_.fetch_and(~kLock, std::memory_order_release);
    return found;
}

void StateBase::print(std::ostream& os) const {
    const auto s = state();
    os << "<Future at " << static_cast<const void*>(this) << " state=" << describe(s);
    if (s == FutureState::finished) {
        if (exception_) os << " raised " << exception_type_name(exception_);
        else os << " returned " << demangle(result_type());
    }
    os << '>';
}

std::string StateBase::repr() const {
    std::ostringstream os;
    print(os);
    return os.str();
}

void fire_user_callback(CallbackNode* node, StateBase& state) noexcept {
    try {
        node->fire(state);
    } catch (...) {
        report_callback_error(state, std::current_exception());
    }
    node->let_go();
}

}  // namespace cf::detail
