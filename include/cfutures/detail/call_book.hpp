// The calls a remote executor's manager thread knows about, shared by the
// process pool and the MPI executors: every unfinished call by id, and which
// of them have not been sent yet (those are still cancellable, as Python's
// pending work items before they move to the call queue).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <chrono>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include <cfutures/detail/remote_call.hpp>
#include <cfutures/detail/shared_state.hpp>
#include <cfutures/errors.hpp>

namespace cf::detail {

/// A submitted call, as the manager holds it.
struct PendingCall {
    StateBase* state = nullptr;  // one reference, released when the call ends
    std::string bytes;           // the encoded call; dropped when it has run
    ReplyDecoder decode = nullptr;
    std::chrono::nanoseconds timeout{};  // the longest it may run once begun; zero: no limit
    bool requeued = false;  // sent to a worker that was stopped before it began the call: RUNNING already
};

class CallBook {
public:
    [[nodiscard]] bool empty() const noexcept { return calls_.empty(); }
    /// Whether some call waits for a worker.
    [[nodiscard]] bool has_queued() const noexcept { return !queue_.empty(); }

    /// Gives ids to freshly submitted calls (taken out of `fresh`) and queues them for sending.
    void enqueue(std::deque<PendingCall>& fresh) {
        for (PendingCall& c : fresh) {
            const std::uint64_t id = next_id_++;
            calls_.emplace(id, std::move(c));
            queue_.push_back(id);
        }
        fresh.clear();
    }

    /// shutdown(cancel_futures=true): cancels every call not sent yet. A call sent to a
    /// worker that was stopped before it began it is queued again but RUNNING: it cannot
    /// be cancelled, so it stays queued and runs (dropping it would leave its future
    /// running forever). Cancelling runs callbacks, which may shut the executor down
    /// again: such a nested call does nothing, as does one while fail_all() fails every call.
    void cancel_queued() {
        if (walking_) return;
        walking_ = true;
        std::deque<std::uint64_t> queue;
        queue.swap(queue_);
        std::deque<PendingCall> calls;
        for (std::uint64_t id : queue) {
            auto it = calls_.find(id);
            if (it->second.requeued) {
                queue_.push_back(id);
                continue;
            }
            calls.push_back(std::move(it->second));
            calls_.erase(it);
        }
        cancel_calls(calls);
        walking_ = false;
    }

    /// Cancels calls no manager has taken (still PENDING, unless completed by hand) and
    /// drops their references.
    static void cancel_calls(std::deque<PendingCall>& calls) {
        for (PendingCall& c : calls) {
            c.state->cancel();
            c.state->release();
        }
        calls.clear();
    }

    /// Sends queued calls, oldest first, while `pick()` finds a worker (a Worker*, or null
    /// when every worker is busy): each call becomes RUNNING before `send(worker, id, call)`
    /// ships its bytes (a PendingCall), as Python's set_running_or_notify_cancel; a call cancelled (or
    /// completed by hand) while queued is dropped without a worker. Returns whether any
    /// call left the queue.
    template <class Pick, class Send>
    bool dispatch(Pick&& pick, Send&& send) {
        bool any = false;
        while (!queue_.empty()) {
            const std::uint64_t id = queue_.front();
            auto it = calls_.find(id);
            PendingCall& call = it->second;
            // A worker first: once started (RUNNING) a call cannot go back to waiting.
            auto* worker = call.state->cancelled() ? nullptr : pick();
            if (!worker && !call.state->cancelled()) break;  // every worker is busy
            bool run = false;
            if (call.requeued) {
                run = call.state->running();  // not stopped (CANCELLED) or ended by hand meanwhile
            } else {
                try {
                    run = call.state->set_running_or_notify_cancel();
                } catch (const InvalidStateError&) {
                    run = false;  // completed by hand while queued
                }
            }
            queue_.pop_front();
            any = true;
            if (!run) {
                call.state->release();
                calls_.erase(it);
                continue;
            }
            // The bytes stay until the call has run (its reply): a worker stopped before it
            // began the call hands it back, to be sent again.
            send(*worker, id, std::as_const(call));
        }
        return any;
    }

    /// Puts calls sent to a worker that was stopped before it began them back at the front
    /// of the queue, in the order given (they stay RUNNING: sent again, never run twice).
    template <class Ids>
    void requeue_front(const Ids& ids) {
        for (auto it = std::rbegin(ids); it != std::rend(ids); ++it) {
            auto found = calls_.find(*it);
            if (found == calls_.end()) continue;
            found->second.requeued = true;
            queue_.push_front(*it);
        }
    }

    /// The state of call `id`, still in the book; null when there is none.
    [[nodiscard]] StateBase* state_of(std::uint64_t id) const noexcept {
        auto it = calls_.find(id);
        return it == calls_.end() ? nullptr : it->second.state;
    }

    /// The call with `id`, out of the book; nullopt when there is none (it failed already).
    std::optional<PendingCall> take(std::uint64_t id) {
        auto it = calls_.find(id);
        if (it == calls_.end()) return std::nullopt;
        PendingCall call = std::move(it->second);
        calls_.erase(it);
        return call;
    }

    /// Fails every call in the book with `error` (see fail).
    void fail_all(const std::exception_ptr& error) {
        walking_ = true;
        std::unordered_map<std::uint64_t, PendingCall> calls;
        calls.swap(calls_);
        queue_.clear();
        for (auto& [id, c] : calls) {
            fail(c.state, error);
            c.state->release();
        }
        walking_ = false;
    }

    /// Fails one call's state with `error`: a running one through set_exception, a pending
    /// one through abandon (which leaves a cancelled one cancelled).
    static void fail(StateBase* state, const std::exception_ptr& error) {
        if (state->running()) {
            try {
                state->set_exception(error);
            } catch (const InvalidStateError&) {
                // completed by hand while it ran: the hand wins, as in Python
            }
        } else {
            state->abandon(error);
        }
    }

private:
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, PendingCall> calls_;  // every unfinished call
    std::deque<std::uint64_t> queue_;                        // ids not sent yet, oldest first
    bool walking_ = false;  // cancel_queued() or fail_all() is running callbacks
};

/// shutdown(cancel_futures=true) of a remote executor has cancelled every call not yet
/// handed to a worker when it returns (API.md), though its manager thread owns the queue
/// of those calls: the shutting-down thread cancels what still waits in the submit queue
/// itself, asks the manager to cancel the rest, and waits until it has (one turn of its
/// loop) or has ended. A manager thread shutting its own executor down (from a callback)
/// cancels at once instead. Every member is guarded by the submitters' mutex, passed in.
class CancelHandshake {
public:
    /// One shutdown(cancel_futures=true): begun under the lock, completed after the
    /// manager has been woken.
    struct Request {
        std::deque<PendingCall> unqueued;  // submitted, not taken by the manager: cancelled by the caller
        std::uint64_t number = 0;          // what the manager is asked to cancel, if anything
        bool on_manager = false;           // the manager shuts its own executor down
    };

    /// The manager thread has started.
    void manager_started_locked(std::thread::id id) noexcept { manager_ = id; }

    /// Takes the calls no manager has taken out of `submitted` and files a request.
    Request begin_locked(std::deque<PendingCall>& submitted) {
        Request r;
        r.unqueued.swap(submitted);
        r.on_manager = manager_ == std::this_thread::get_id();
        if (manager_ != std::thread::id() && !r.on_manager && !gone_) r.number = ++requested_;
        return r;
    }

    /// Without the lock, once the manager has been woken: cancels the calls `r` took, and
    /// those in `book` (at once on the manager thread, else by waiting for the manager).
    void complete(Request& r, std::mutex& m, CallBook& book) {
        CallBook::cancel_calls(r.unqueued);
        if (r.on_manager) book.cancel_queued();
        if (r.number == 0) return;
        std::unique_lock lk(m);
        cv_.wait(lk, [&] { return served_ >= r.number || gone_; });
    }

    /// The manager's side: the newest request not served yet, or 0.
    [[nodiscard]] std::uint64_t pending_locked() const noexcept { return requested_ > served_ ? requested_ : 0; }
    /// The manager has cancelled what request `n` (and every earlier one) asked for.
    void served(std::mutex& m, std::uint64_t n) {
        {
            std::lock_guard g(m);
            served_ = std::max(served_, n);
        }
        cv_.notify_all();
    }
    /// The manager serves no more requests (it has ended, every call failed or done).
    void manager_gone(std::mutex& m) {
        {
            std::lock_guard g(m);
            gone_ = true;
        }
        cv_.notify_all();
    }

private:
    std::thread::id manager_;
    std::uint64_t requested_ = 0;
    std::uint64_t served_ = 0;
    bool gone_ = false;
    std::condition_variable cv_;
};

}  // namespace cf::detail
