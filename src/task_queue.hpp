// The thread pool's queue of tasks: many submitters, several workers, FIFO.
//
// Submitting never waits for a worker: a push is one compare-and-swap on the
// queue's last node plus one store linking the previous node to the new one
// (Dmitry Vyukov's intrusive multi-producer queue, with a placeholder "stub"
// node). The last-node word's low bit also says "closed", so that closing and
// pushing cannot race: a push either lands before the close or fails. Workers
// take turns at the front behind a small spin lock (a pop is a few loads).
//
// Why not a mutex-guarded list: workers spinning for work and the submitter
// then fight over one lock, and every contended hand-off becomes a futex
// syscall on both sides (a third of a busy pool's time, measured with perf).
// Why not a lock-free stack reversed by the consumer: under a burst of
// submits the stack grows to millions of tasks, and reversing it (a cache miss
// per task) leaves the other workers idle meanwhile.
//
// Between a push's two steps the new task is queued but not yet reachable:
// pop() then returns null although the queue is not empty (a "gap"). That is
// harmless for a spinning worker (it looks again) and for a parking one (the
// pusher, once linked, sees it parked and wakes it); draining after close()
// waits the gap out (see drained()).
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include <cfutures/detail/futex.hpp>
#include <cfutures/detail/shared_state.hpp>

namespace cf::detail {

/// A test-and-test-and-set lock for critical sections of a few instructions;
/// it yields the CPU if its holder was preempted.
class SpinLock {
public:
    void lock() noexcept {
        for (;;) {
            if (!locked_.exchange(true, std::memory_order_acquire)) return;
            for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
                if (spins < 64) cpu_relax();
                else std::this_thread::yield();
            }
        }
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};
};

class TaskQueue {
public:
    TaskQueue() noexcept : last_(reinterpret_cast<std::uintptr_t>(&stub_)), front_(&stub_) {}
    TaskQueue(const TaskQueue&) = delete;
    TaskQueue& operator=(const TaskQueue&) = delete;

    /// Appends `task` (the queue takes over one reference). Returns false, leaving the
    /// task alone, once the queue is closed.
    bool push(StateBase* task) noexcept { return link(task, false); }

    /// The oldest task; null when the queue is empty or the next task is in a gap.
    /// Its loads are sequentially consistent, so that a worker announcing itself parked,
    /// then popping, cannot miss a push that missed it.
    StateBase* pop() noexcept {
        lock_.lock();
        StateBase* task = pop_locked();
        lock_.unlock();
        return task;
    }

    /// pop(), also telling, when it finds nothing, whether the queue is closed and
    /// drained, i.e. nothing will ever come out of it again. Looked at under the lock
    /// (no other worker's pop in between), and closed first (no push after that).
    StateBase* pop(bool& finished) noexcept {
        lock_.lock();
        StateBase* task = pop_locked();
        finished = !task && closed() && drained();
        lock_.unlock();
        return task;
    }

    /// Detaches every queued task, waiting out gaps: call after close(). Returns them
    /// oldest first, linked by next_in_queue.
    StateBase* take_all() noexcept {
        StateBase* first = nullptr;
        StateBase* last = nullptr;
        for (;;) {
            if (StateBase* task = pop()) {
                task->next_in_queue.store(nullptr, std::memory_order_relaxed);
                if (last) last->next_in_queue.store(task, std::memory_order_relaxed);
                else first = task;
                last = task;
            } else if (drained()) {
                return first;
            } else {
                std::this_thread::yield();  // a push is between its two steps
            }
        }
    }

    /// From now on push() fails; queued tasks stay until popped or taken.
    void close() noexcept { last_.fetch_or(kClosed, std::memory_order_seq_cst); }
    bool closed() const noexcept { return last_.load(std::memory_order_acquire) & kClosed; }

    /// True when nothing is queued, not even in a gap. Without the lock, only a hint
    /// (another worker may be half-way through popping the last task).
    bool drained() const noexcept {
        return front_.load(std::memory_order_acquire) == &stub_ && last_node() == &stub_;
    }

    /// A cheap, lock-free hint for spinning workers: true if a task may be queued.
    bool maybe_nonempty() const noexcept { return !drained(); }

private:
    static constexpr std::uintptr_t kClosed = 1;  // nodes are aligned: the low bit is free

    QueueLink* last_node() const noexcept {
        return reinterpret_cast<QueueLink*>(last_.load(std::memory_order_seq_cst) & ~kClosed);
    }

    /// Makes `node` the last one, then links its predecessor to it. The stub is
    /// re-linked even after close (it carries no task).
    bool link(QueueLink* node, bool is_stub) noexcept {
        node->next_in_queue.store(nullptr, std::memory_order_relaxed);
        std::uintptr_t last = last_.load(std::memory_order_relaxed);
        do {
            if ((last & kClosed) && !is_stub) return false;
        } while (!last_.compare_exchange_weak(last, reinterpret_cast<std::uintptr_t>(node) | (last & kClosed),
                                              std::memory_order_acq_rel, std::memory_order_relaxed));
        reinterpret_cast<QueueLink*>(last & ~kClosed)->next_in_queue.store(node, std::memory_order_seq_cst);
        return true;
    }

    StateBase* pop_locked() noexcept {
        QueueLink* front = front_.load(std::memory_order_relaxed);
        QueueLink* next = front->next_in_queue.load(std::memory_order_seq_cst);
        if (front == &stub_) {
            if (!next) return nullptr;
            front = next;  // skip the stub
            front_.store(front, std::memory_order_relaxed);
            next = front->next_in_queue.load(std::memory_order_seq_cst);
        }
        if (!next) {
            // `front` looks like the last node: it is unless a push is in its gap.
            if (front != last_node()) return nullptr;
            link(&stub_, true);  // so that `front` can leave with something behind it
            next = front->next_in_queue.load(std::memory_order_seq_cst);
            if (!next) return nullptr;  // another push got in before the stub: its gap
        }
        front_.store(next, std::memory_order_release);
        return static_cast<StateBase*>(front);
    }

    alignas(64) std::atomic<std::uintptr_t> last_;  // submitters' side: its own cache line
    alignas(64) SpinLock lock_;                     // workers' side
    std::atomic<QueueLink*> front_;  // written under lock_; read lock-free by drained()
    QueueLink stub_;
};

}  // namespace cf::detail
