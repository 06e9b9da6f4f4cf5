// A worker's finished replies on their way out, shared by the process pool's
// workers and the MPI workers.
//
// Replies of calls received together leave together: one write (or MPI_Send)
// for many, which is most of the throughput of short calls. But a finished
// reply must not wait behind a slow call that follows it in the same batch
// (sleep 0, sleep 0, sleep 3 s: the first two results would arrive after 3 s).
// So before a call that finds replies pending, the worker sets a timer for
// `hold` after the first of them, which a courier thread waits on: if the call
// is still running then, the courier sends them. The worker does not stop the
// timer when it sends them itself (the batch ended, or quick calls kept it
// busy for `hold`): the next batch sets it again before it fires. That is one
// timerfd_settime per batch and no wake-up of another thread unless a call
// runs long or the worker goes idle: a wake-up of the courier per batch, or a
// courier looking every 25 us, cost 25-50% of the throughput of empty calls on
// 2 cores. The thread starts at the first setting, so a worker that only gets
// one call at a time never has one.
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

class ReplyCourier {
public:
    using Clock = std::chrono::steady_clock;
    /// Sends bytes to the parent (all of them, or ends the process: the parent is gone).
    using Send = std::function<void(std::string_view)>;

    ReplyCourier(Send send, std::chrono::microseconds hold, bool may_start_thread);
    ~ReplyCourier();
    ReplyCourier(const ReplyCourier&) = delete;
    ReplyCourier& operator=(const ReplyCourier&) = delete;

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
    int timer_fd_ = -1;
    std::thread thread_;
};

}  // namespace cf::detail
