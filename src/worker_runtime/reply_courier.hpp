// A worker's finished replies on their way out, shared by the process pool's
// workers and the MPI workers.
//
// Replies of calls received together leave together: one write (or MPI_Send)
// for many, which is most of the throughput of short calls. But a finished
// reply must not wait behind a slow call that follows it in the same batch
// (sleep 0, sleep 0, sleep 3 s: the first two results would arrive after 3 s).
// A courier thread sends them while the call runs, when one of two things wakes it:
//
// - **A timer** the worker sets, before a call that finds replies pending, for
//   `hold` after the first of them (the MPI workers, and a process worker its
//   pool does not watch). The worker does not stop it when it sends them itself
//   (the batch ended, or quick calls kept it busy for `hold`): the next batch sets
//   it again before it fires. That is one timerfd_settime per batch.
// - **A poke from the pool** (watched_by_parent(): the process pool's workers).
//   Setting a timer 50 us ahead costs 12-20 us on a virtual machine (the guest
//   reprograms its clock event device; 1.2 us for one past the next tick), and a
//   busy worker set one every 50 us: that doubled the CPU time of a worker of
//   empty calls. The pool, awake anyway while replies flow, sees from the stop
//   board which call the worker has begun: a worker that is silent for `hold`
//   and has begun a later call than the oldest the pool awaits holds a finished
//   reply, and the pool pokes its courier (an eventfd). When the pool stops
//   watching (it found the worker running the oldest call, so holding nothing),
//   it says so on the board, and the worker sets its own timer again before a
//   call that finds replies pending. The board's word and `begun` are written
//   and read in opposite orders, sequentially consistent: one side sees the other.
//
// A wake-up of the courier per batch, or a courier looking every 25 us, cost
// 25-50% of the throughput of empty calls on 2 cores. The thread starts at the
// first call that finds replies pending, so a worker that only gets one call at
// a time never has one.
//
// Where a thread may not be started (a forked worker under a sanitizer whose
// allocator is not fork-safe, see worker.cpp), pending replies are sent before
// each call: no batching of replies there, but none waits behind a call that
// blocks (a call may wait for another's result: a test that gates a call on
// the result of one before it hung until its gate gave up).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace cf::detail {

/// How long a finished reply may wait for the replies after it before it leaves.
inline constexpr std::chrono::microseconds kReplyHold{50};

class ReplyCourier {
public:
    using Clock = std::chrono::steady_clock;
    /// Sends bytes to the parent (all of them, or ends the process: the parent is gone).
    using Send = std::function<void(std::string_view)>;

    ReplyCourier(Send send, std::chrono::microseconds hold, bool may_start_thread);
    ~ReplyCourier();
    ReplyCourier(const ReplyCourier&) = delete;
    ReplyCourier& operator=(const ReplyCourier&) = delete;

    /// From the next call on, the pool watches for replies held behind a call: while
    /// `*watched` is nonzero it pokes `poke_fd` (an eventfd, which this takes) instead of
    /// the worker setting its timer. `watched` must outlive the courier.
    void watched_by_parent(const std::atomic<std::uint64_t>* watched, int poke_fd) noexcept;

    /// Appends a reply: `add(buffer)` writes it into the pending bytes, under the lock;
    /// first, the pending bytes are sent if `fits(buffer)` says the reply would make
    /// them too many for one message.
    template <class Fits, class Add>
    void append(Fits&& fits, Add&& add) {
        std::unique_lock lk(mutex_);
        if (!pending_.empty() && !fits(std::as_const(pending_))) send_locked(lk);
        if (pending_.empty()) first_ready_ns_.store(now_ns(), std::memory_order_relaxed);
        add(pending_);
    }

    /// Before a call runs: with replies pending, arms the courier's timer.
    void before_call();

    /// After a call returned (its reply appended): sends what is pending if the first
    /// reply has waited `hold` (quick calls that keep the worker busy).
    void after_call();

    /// Sends what is pending, then `then` (a frame that must follow the replies), now.
    void flush(std::string_view then = {});

    /// Before the worker waits for more calls: flush(), and the timer set for what it
    /// sent is stopped, lest the courier wake for nothing while the worker waits.
    void rest();

    /// For a crash report written from a signal handler: waits (at most about a second)
    /// for a send under way to end, then keeps every courier from starting another, so
    /// the report's frame never interleaves with replies. The process is about to end.
    static void claim_wire_for_crash() noexcept;

private:
    static std::int64_t now_ns() noexcept {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    }
    /// Sends the pending bytes: swapped out under `lk`, written in order under send_mutex_
    /// (taken before `lk` is let go, so writes keep the order of the swaps) while the
    /// worker appends the next replies.
    void send_locked(std::unique_lock<std::mutex>& lk);
    void send_bytes(std::string_view bytes);
    /// Starts the courier's thread; false when no timer could be made (the old rule then).
    bool start_thread();
    void run();

    Send send_;
    const std::chrono::microseconds hold_;
    bool may_start_thread_;
    std::mutex mutex_;       // pending_
    std::mutex send_mutex_;  // one writer at a time, in the order of the swaps
    std::string pending_;
    std::string sending_;  // the bytes being written (kept for their capacity)
    std::atomic<std::int64_t> first_ready_ns_{0};  // 0: nothing pending
    std::atomic<bool> stop_{false};
    std::int64_t armed_for_ = 0;  // the first_ready_ns_ the timer was set for (the worker's thread)
    const std::atomic<std::uint64_t>* watched_ = nullptr;  // the board's word: the pool watches
    int poke_fd_ = -1;
    std::atomic<bool> poke_lost_{false};  // its fd went bad (a call closed it): the timer again
    int timer_fd_ = -1;
    std::thread thread_;
};

}  // namespace cf::detail
