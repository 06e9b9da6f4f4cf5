// A worker's finished replies on their way out, shared by the process pool's
// workers and the MPI workers.
//
// Replies of calls received together leave together: one write (or MPI_Send)
// for many, which is most of the throughput of short calls. But a finished
// reply must not wait behind a slow call that follows it in the same batch
// (sleep 0, sleep 0, sleep 3 s: the first two results would arrive after 3 s).
// So before each call, replies still pending are handed to a courier thread
// that sends them `hold` after the first of them was ready, unless the worker
// sends them first (the call returned and the batch ended). The thread starts
// at the first call that finds replies pending, so a worker that only ever gets
// one call at a time never has one.
//
// Where a thread may not be started (a forked worker under a sanitizer whose
// allocator is not fork-safe, see reply_courier.cpp), replies are sent after a
// call returns once the first has waited `hold`: the old rule, which a slow
// call defeats.
#pragma once

#include <chrono>
#include <condition_variable>
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
        std::lock_guard g(mutex_);
        if (!pending_.empty() && !fits(std::as_const(pending_))) send_locked();
        if (pending_.empty()) first_ready_ = Clock::now();
        add(pending_);
    }

    /// Before a call runs: replies already pending leave within `hold` of the first,
    /// however long the call takes.
    void before_call();

    /// After a call returned, where no thread may be started: sends what is pending if
    /// the first reply has waited `hold`.
    void after_call();

    /// Sends what is pending, then `then` (a frame that must follow the replies), now.
    void flush(std::string_view then = {});

    /// For a crash report written from a signal handler: waits (at most about a second)
    /// for a send under way to end, then keeps every courier from starting another, so
    /// the report's frame never interleaves with replies. The process is about to end.
    static void claim_wire_for_crash() noexcept;

private:
    void send_locked();
    void send_bytes_locked(std::string_view bytes);
    void run();

    Send send_;
    std::chrono::microseconds hold_;
    bool may_start_thread_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::string pending_;
    Clock::time_point first_ready_{};
    bool armed_ = false;  // the thread is to send the pending replies at first_ready_ + hold_
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace cf::detail
