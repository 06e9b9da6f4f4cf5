// The hooks the future's state layer carries for the pools, each a measured
// speed-up or a Python rule that needs it; here so that one place lists them.
// A state knows nothing of any pool: each hook is an interface or a word the
// pool sets, and a future made by hand never touches one.
//
//   QueueLink            base of StateBase: the thread pool's submit queue links
//                        tasks through the task itself (an intrusive, lock-free
//                        multi-producer queue, src/task_queue.hpp), so a submit
//                        allocates nothing beyond the task. From 9c67ed4's
//                        lock-free submit.
//   WaitHelper           asked by StateBase::wait before the waiter parks: the
//                        process pool's express lane lets the waiting thread take
//                        its reply out of shared memory, so nobody else is woken.
//                        Process round trip 45 us -> 1.2-1.7 us (docs/design.md
//                        §3, the express lane).
//   tls_woke_sleepers    set by a thread that woke result() waiters; a thread
//                        pool worker then yields before it spins, so the woken
//                        waiter gets the CPU: round trip on a pool idle for a
//                        while 33 us -> 8 us on 2 CPUs (8fa2368).
//   CallReturnedHook     told on the worker thread that a call has returned, just
//                        before its future completes: the worker counts itself
//                        idle first, so a submit made by a waiter that wakes on
//                        that future reuses it instead of starting a thread
//                        (CPython's test_idle_thread_reuse).
#pragma once

#include <atomic>

#include <cfutures/detail/futex.hpp>

namespace cf::detail {

class StateBase;

/// An executor's intrusive queue link, owned by whichever queue holds the task. A base
/// of StateBase, so that a queue's placeholder node need not be a whole task.
struct QueueLink {
    std::atomic<QueueLink*> next_in_queue{nullptr};
};

/// Something that can finish a future on the thread waiting for it, before that thread
/// parks: a process pool's express lane, whose reply the waiter itself takes out of
/// shared memory (src/process/express_lane.hpp), so that no other thread has to be woken.
class WaitHelper {
public:
    virtual ~WaitHelper() = default;
    /// Tries, until the deadline or its own time budget, to finish `state`; may return early.
    virtual void help(const StateBase& state, const Deadline& deadline) noexcept = 0;
    /// request_stop() stopped `state`'s running call (a process pool's express lane kills
    /// the worker running it).
    virtual void stop_requested(const StateBase& /*state*/) noexcept {}
};

/// Set on a thread that has just woken threads blocked on a future (in a result() or
/// exception() wait); a pool worker reads and clears it (see ThreadPoolCore::worker_main).
inline thread_local bool tls_woke_sleepers = false;

/// Told, on the thread running a task, that the call has returned (or thrown) and
/// its callable is gone, just before the future completes. A thread pool's worker
/// uses it to count itself idle before anyone waiting on that future can submit
/// again, so that the next submit reuses it rather than starting a thread.
class CallReturnedHook {
public:
    virtual void call_returned() noexcept = 0;

protected:
    ~CallReturnedHook() = default;
};

/// Set by a worker right before TaskState::run(); each run takes it (and clears it,
/// so that nothing run further down the same call sees it).
inline thread_local CallReturnedHook* tls_call_returned_hook = nullptr;

}  // namespace cf::detail
