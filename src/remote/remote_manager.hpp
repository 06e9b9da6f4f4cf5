// The manager of every executor whose calls cross a process boundary (the process
// pool, the MPI executors), written once: the submit queue, shutdown, joining and
// detaching the manager thread, taking submitted calls into the CallBook, completing a
// call from its reply (and breaking when a reply cannot be decoded), and breaking.
//
//   submit() ──► submitted_ (mutex_) ──wake()──► manager thread: run_loop()
//      │                                            │ take_submitted(): into book_
//      └─► try_express_locked() (process pool:      │ dispatch through book_ and window_
//          an idle worker's express lane)           │ ... replies: complete(id, payload)
//                                                   ▼
//                                  break_executor(): every unfinished call fails
//
// A transport derives from it and gives what differs (docs/design.md §3, §3b): how the
// manager is woken, its loop (pick a worker and send, poll for replies, notice a
// worker's end), how workers are killed when it breaks, and how they are released.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <cfutures/detail/call_book.hpp>
#include <cfutures/detail/call_window.hpp>

namespace cf::detail {

/// "Type: what()" of the exception being handled, whatever its type.
std::string describe_current_exception_text();

/// Workers a pool starts when not told: one per core, as Python's os.process_cpu_count().
int default_worker_count() noexcept;

class RemoteManager : public std::enable_shared_from_this<RemoteManager> {
public:
    RemoteManager(const RemoteManager&) = delete;
    RemoteManager& operator=(const RemoteManager&) = delete;
    virtual ~RemoteManager() = default;

    /// Queues a call (its state carries one reference for the manager), or throws: the
    /// executor's break when broken, ShutdownError after shutdown, std::length_error
    /// when the call is larger than the transport carries. Starts the manager thread at
    /// the first submit unless started already.
    void submit(StateBase* state, std::string bytes, ReplyDecoder decode, std::chrono::nanoseconds timeout = {});

    /// Python's shutdown(wait, cancel_futures): with cancel_futures, every call not yet
    /// handed to a worker is cancelled when it returns.
    void shutdown(bool wait, bool cancel_futures);

    /// Starts the manager thread now, for a transport whose workers need it before any
    /// call (they wait for its goodbye); else it starts at the first submit.
    void start();

    /// The destructor's half: a manager thread destroying its own executor lets itself go.
    void detach_if_self();

    /// Any thread: the executor is broken for `why`; the manager fails the calls at its
    /// next turn. Returns the exception to fail the caller's own call with.
    std::exception_ptr break_from_elsewhere(const std::string& why);

    /// Any thread: a running call of some executor was stopped (request_stop()); the
    /// manager looks for its own such calls at its next turn (stop_cancelled_calls()).
    void note_stop_request() noexcept;

protected:
    /// `max_call_bytes`: the largest encoded call the transport carries.
    explicit RemoteManager(std::size_t max_call_bytes) : max_call_bytes_(max_call_bytes) {}

    // ---- what a transport gives --------------------------------------------------

    /// Any thread: makes the manager look at submitted_ and shutdown_ soon.
    virtual void wake() = 0;
    /// The manager thread's loop; returns when every call has ended and it may stop.
    virtual void run_loop() = 0;
    /// The manager thread, after its loop: gives the workers back (reaps, says goodbye).
    virtual void release_workers() noexcept = 0;
    /// The exception calls fail with, and later submits throw, when the executor breaks
    /// for `why` (BrokenProcessPool, BrokenExecutor: with the transport's own words).
    virtual std::exception_ptr make_broken(const std::string& why) const = 0;
    /// Under mutex_, at the first submit: what must happen before the manager exists.
    virtual void before_manager_starts_locked() {}
    /// Under mutex_, at a submit that finds no call waiting: starts the call at once
    /// when the transport can (the process pool's express lanes). True when it did.
    virtual bool try_express_locked(StateBase*, const std::string&, ReplyDecoder) { return false; }
    /// Under mutex_, when the executor breaks: stop the workers.
    virtual void on_break_locked() {}
    /// The manager thread, after a break failed the book's calls with `error`: fail what
    /// the transport holds itself.
    virtual void on_break(const std::exception_ptr&) {}
    /// The manager thread: some running call was stopped (its state CANCELLED); the
    /// transport stops those of its own calls that are (a process pool kills the worker).
    virtual void stop_cancelled_calls() {}

    // ---- the pieces of a loop (manager thread) -----------------------------------

    /// Starts the manager thread (under mutex_); it holds the manager alive until it ends.
    void start_manager_locked();

    /// Moves submitted calls into the book, serves a shutdown(cancel_futures) and a break
    /// found by another thread (break_from_elsewhere). True when anything was taken.
    bool take_submitted();

    /// After a dispatch: whether calls still wait for a worker, for submitters to see.
    void note_queued() noexcept { calls_queued_.store(book_.has_queued(), std::memory_order_relaxed); }

    /// The reply to call `id`: decodes it into its future. A reply that cannot be decoded
    /// breaks the executor. False when the executor is broken now.
    bool complete(std::uint64_t id, std::string_view payload);

    /// The deadline of a call with `timeout` (zero: none, the time point's max) that began
    /// at `began`: its worker's first call in flight, once the replies before it came.
    static CallWindow::Clock::time_point deadline_of(std::chrono::nanoseconds timeout,
                                                     CallWindow::Clock::time_point began) noexcept {
        return timeout.count() ? began + timeout : CallWindow::Clock::time_point::max();
    }
    /// Call `id` ran past its `limit`: its future fails with TimeoutError. True when it
    /// did (the call was still running), so the transport stops it if it can.
    bool time_out(std::uint64_t id, std::chrono::nanoseconds limit);

    /// Fails every unfinished call with make_broken(why), and later submits.
    void break_executor(const std::string& why);
    /// As break_executor(why), with an exception that says more (a worker's end).
    void break_executor(const std::exception_ptr& error);

    /// Whether the manager has broken the executor (manager thread).
    [[nodiscard]] bool broken_here() const noexcept { return broken_here_; }

    // Shared with submitters and shutdown callers.
    mutable std::mutex mutex_;
    std::deque<PendingCall> submitted_;  // guarded by mutex_
    bool shutdown_ = false;              // guarded by mutex_
    std::exception_ptr broken_error_;    // what calls fail with and submits throw; guarded by mutex_

    // The manager thread's own.
    bool shutting_down_ = false;  // shutdown_ as of the last take_submitted()
    CallBook book_;               // every unfinished call the manager knows; those not sent yet, queued
    CallWindow window_;           // calls in flight per worker

private:
    void manager_main();

    const std::size_t max_call_bytes_;
    CancelHandshake cancel_;                 // guarded by mutex_
    std::exception_ptr broken_elsewhere_;    // a break found off the manager thread; guarded by mutex_
    std::atomic<bool> calls_queued_{false};  // the manager holds calls waiting for a worker
    std::atomic<bool> stops_requested_{false};  // note_stop_request() since the last take_submitted()
    std::mutex join_mutex_;
    std::thread manager_;  // guarded by mutex_ (start) and join_mutex_ (join)
    bool broken_here_ = false;
};

}  // namespace cf::detail
