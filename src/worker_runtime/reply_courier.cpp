#include "reply_courier.hpp"

#include <poll.h>
#include <sched.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace cf::detail {

namespace {
/// Who writes to the parent now: the bytes of two writers must not interleave, and the
/// crash handler cannot take a mutex.
enum WireOwner : int { kFree = 0, kCourier = 1, kCrash = 2 };
std::atomic<int> g_wire{kFree};

void claim_wire_for_send() noexcept {
    for (int expected = kFree; !g_wire.compare_exchange_weak(expected, kCourier, std::memory_order_acquire);
         expected = kFree) {
        ::sched_yield();  // a crash report is being written: the process is about to end
    }
}

timespec to_timespec(std::int64_t ns) noexcept {
    return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}
}  // namespace

ReplyCourier::ReplyCourier(Send send, std::chrono::microseconds hold, bool may_start_thread)
    : send_(std::move(send)), hold_(hold), may_start_thread_(may_start_thread) {}

ReplyCourier::~ReplyCourier() {
    if (thread_.joinable()) {
        stop_.store(true, std::memory_order_relaxed);
        // Fires the timer at once: the thread wakes, sees stop_, and returns.
        const itimerspec now{{0, 0}, {0, 1}};
        ::timerfd_settime(timer_fd_, 0, &now, nullptr);
        thread_.join();
        ::close(timer_fd_);
    }
    if (poke_fd_ >= 0) ::close(poke_fd_);
}

void ReplyCourier::watched_by_parent(const std::atomic<std::uint64_t>* watched, int poke_fd) noexcept {
    if (poke_fd_ >= 0) ::close(poke_fd_);
    watched_ = watched;
    poke_fd_ = poke_fd;
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

void ReplyCourier::send_bytes(std::string_view bytes) {
    if (bytes.empty()) return;
    claim_wire_for_send();
    send_(bytes);
    g_wire.store(kFree, std::memory_order_release);
}

void ReplyCourier::send_locked(std::unique_lock<std::mutex>& lk) {
    if (pending_.empty()) return;
    std::unique_lock send_lock(send_mutex_);  // before lk is let go: writes in swap order
    sending_.clear();
    pending_.swap(sending_);
    first_ready_ns_.store(0, std::memory_order_relaxed);
    lk.unlock();
    send_bytes(sending_);
    send_lock.unlock();  // before lk: the order the locks are taken in is mutex_, then send_mutex_
    lk.lock();
}

void ReplyCourier::before_call() {
    if (!may_start_thread_) {
        // No courier: the replies go before the call, which may not return soon (the
        // parent may even wait for one of them before it lets the call finish).
        if (first_ready_ns_.load(std::memory_order_relaxed) == 0) return;
        std::unique_lock lk(mutex_);
        send_locked(lk);
        return;
    }
    const std::int64_t first = first_ready_ns_.load(std::memory_order_relaxed);
    // Armed for these replies already? (Replies sent are followed by others, with a later
    // first_ready_ns_, which need the timer again.) A timer set for replies the worker has
    // sent since is not stopped: stopping it cost a second system call per batch, and the
    // next batch sets it again long before it fires, or it fires once, for nothing.
    if (first == 0 || armed_for_ == first) return;
    if (!thread_.joinable() && !start_thread()) return;
    // The pool watches: it pokes the courier if this call holds the replies up. Read after
    // the board's `begun` was written for this call (WorkerStopBoard::begin), seq_cst.
    if (watched_ && watched_->load(std::memory_order_seq_cst) != 0 && !poke_lost_.load(std::memory_order_relaxed))
        return;
    // steady_clock is CLOCK_MONOTONIC: the timer fires when the first reply has waited hold_.
    const itimerspec at{{0, 0}, to_timespec(first + std::chrono::nanoseconds(hold_).count())};
    ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &at, nullptr);
    armed_for_ = first;
}

bool ReplyCourier::start_thread() {
    // Non-blocking: the worker may set the timer again between the poll and the read,
    // which leaves nothing to read.
    timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (timer_fd_ < 0) {
        may_start_thread_ = false;  // no timer: the old rule
        return false;
    }
    thread_ = std::thread([this] { run(); });
    return true;
}

void ReplyCourier::after_call() {
    // Replies of a long run of quick calls leave every hold_ from this thread; the courier
    // only steps in for a call that runs long.
    const std::int64_t first = first_ready_ns_.load(std::memory_order_relaxed);
    if (first == 0 || now_ns() - first < std::chrono::nanoseconds(hold_).count()) return;
    std::unique_lock lk(mutex_);
    send_locked(lk);
}

void ReplyCourier::flush(std::string_view then) {
    std::unique_lock lk(mutex_);
    send_locked(lk);
    std::lock_guard send_guard(send_mutex_);
    send_bytes(then);
}

void ReplyCourier::rest() {
    flush();
    if (armed_for_ == 0) return;
    // Stopped only if it has yet to fire: stopping costs as much as setting it.
    if (now_ns() < armed_for_ + std::chrono::nanoseconds(hold_).count()) {
        const itimerspec off{{0, 0}, {0, 0}};
        ::timerfd_settime(timer_fd_, 0, &off, nullptr);
    }
    armed_for_ = 0;
}

void ReplyCourier::run() {
    pollfd fds[2] = {{timer_fd_, POLLIN, 0}, {poke_fd_, POLLIN, 0}};
    nfds_t count = poke_fd_ >= 0 ? 2 : 1;
    for (;;) {
        const int n = ::poll(fds, count, -1);
        if (n < 0 && errno == EINTR) continue;
        if (stop_.load(std::memory_order_relaxed) || n < 0) return;
        if (fds[0].revents & (POLLERR | POLLNVAL)) return;  // no timer: the worker's loop sends them
        if (count == 2 && (fds[1].revents & (POLLERR | POLLNVAL))) {
            // A call closed the poke's fd: the worker sets its own timer from now on.
            count = 1;
            poke_lost_.store(true, std::memory_order_relaxed);
        }
        for (nfds_t i = 0; i < count; ++i) {
            if (fds[i].revents == 0) continue;
            std::uint64_t count_or_expirations = 0;  // drained: the wake-up is all it says
            [[maybe_unused]] const ssize_t r = ::read(fds[i].fd, &count_or_expirations, sizeof count_or_expirations);
        }
        // The first pending reply has waited hold_ while a call runs, or the pool saw the
        // worker hold one: it goes now. (The worker may have sent it meanwhile: then there
        // is nothing, or a newer one, to send.)
        std::unique_lock lk(mutex_);
        send_locked(lk);
    }
}

}  // namespace cf::detail
