#include "reply_courier.hpp"

#include <sched.h>
#include <time.h>

#include <atomic>

namespace cf::detail {

namespace {
/// Who writes to the parent now: the bytes of two writers must not interleave, and the
/// crash handler cannot take a mutex.
enum WireOwner : int { kFree = 0, kCourier = 1, kCrash = 2 };
std::atomic<int> g_wire{kFree};

void claim_wire_for_send() noexcept {
    for (int expected = kFree; !g_wire.compare_exchange_weak(expected, kCourier, std::memory_order_acquire);
         expected = kFree) {
        ::sched_yield();  // another courier's send, or a crash report (then the process ends)
    }
}
}  // namespace

ReplyCourier::ReplyCourier(Send send, std::chrono::microseconds hold, bool may_start_thread)
    : send_(std::move(send)), hold_(hold), may_start_thread_(may_start_thread) {}

ReplyCourier::~ReplyCourier() {
    {
        std::lock_guard g(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void ReplyCourier::claim_wire_for_crash() noexcept {
    for (int i = 0; i < 1000; ++i) {
        int expected = kFree;
        if (g_wire.compare_exchange_strong(expected, kCrash, std::memory_order_acquire)) return;
        const timespec ms{0, 1'000'000};
        ::nanosleep(&ms, nullptr);
    }
    g_wire.store(kCrash, std::memory_order_release);  // a send stuck for a second: write anyway
}

void ReplyCourier::send_bytes_locked(std::string_view bytes) {
    if (bytes.empty()) return;
    claim_wire_for_send();
    send_(bytes);
    g_wire.store(kFree, std::memory_order_release);
}

void ReplyCourier::send_locked() {
    send_bytes_locked(pending_);
    pending_.clear();
    armed_ = false;
}

void ReplyCourier::before_call() {
    std::unique_lock lk(mutex_);
    if (pending_.empty() || armed_ || !may_start_thread_) return;
    if (Clock::now() - first_ready_ >= hold_) {
        send_locked();
        return;
    }
    armed_ = true;
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    lk.unlock();
    wake_.notify_one();
}

void ReplyCourier::after_call() {
    if (may_start_thread_) return;  // the courier thread keeps the time
    std::lock_guard g(mutex_);
    if (!pending_.empty() && Clock::now() - first_ready_ >= hold_) send_locked();
}

void ReplyCourier::flush(std::string_view then) {
    std::lock_guard g(mutex_);
    send_locked();
    send_bytes_locked(then);
}

void ReplyCourier::run() {
    std::unique_lock lk(mutex_);
    for (;;) {
        wake_.wait(lk, [this] { return stop_ || armed_; });
        if (stop_) return;
        // Armed: the replies leave at first_ready_ + hold_ unless the worker sent them
        // (armed_ false again) before. A re-arm in between moves the deadline later.
        while (armed_ && !stop_) {
            const auto deadline = first_ready_ + hold_;
            if (Clock::now() >= deadline) {
                send_locked();
                break;
            }
            wake_.wait_until(lk, deadline);
        }
    }
}

}  // namespace cf::detail
