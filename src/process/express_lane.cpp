#include "express_lane.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <system_error>

#include <cfutures/detail/call_book.hpp>
#include <cfutures/detail/futex.hpp>
#include <cfutures/detail/type_name.hpp>

#include "../posix_error.hpp"
#include "shared_memfd.hpp"
#include "wire.hpp"
#include "wire_io.hpp"

namespace cf::detail::express {

namespace {

// How long a thread in result() spins for a lane reply before it parks (and the worker
// then tells the manager instead). A small call's round trip is a few microseconds.
constexpr auto kWaiterSpin = std::chrono::microseconds(100);
// How long a worker spins for the next lane call after one: a caller doing round trips
// back to back submits again within microseconds.
constexpr auto kWorkerSpin = std::chrono::microseconds(100);
// How long a reply nobody spins for waits in the lane before the worker tells the manager:
// its caller is usually about to call result() (see the header).
constexpr auto kNotifyAfter = std::chrono::microseconds(20);

void write_one(int fd) noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(fd, &one, sizeof one);
}

}  // namespace

// ---- the pool's side ------------------------------------------------------------------

Lane::Lane(int manager_wake_fd, BreakPool break_pool) : break_pool_(std::move(break_pool)) {
    const SharedMemfd mapped = map_shared_memfd("cfutures-express-lane", sizeof(Shared), "an express lane");
    memfd_ = mapped.memfd;
    shared_ = ::new (mapped.address) Shared;  // not Shared(): that would zero (and so touch) every page of the bytes
    worker_wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    manager_wake_fd_ = ::fcntl(manager_wake_fd, F_DUPFD_CLOEXEC, 0);
    if (worker_wake_fd_ < 0 || manager_wake_fd_ < 0) {
        const int err = errno;
        release_resources();
        errno = err;
        throw_errno("cfutures: the eventfds of an express lane");
    }
}

Lane::~Lane() { release_resources(); }

void Lane::release_resources() noexcept {
    if (shared_) ::munmap(shared_, sizeof(Shared));
    shared_ = nullptr;
    for (int* fd : {&memfd_, &worker_wake_fd_, &manager_wake_fd_}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
    }
}

void Lane::forget_memfd() noexcept {
    ::close(memfd_);
    memfd_ = -1;
}

bool Lane::try_start(StateBase* state, std::string_view call, ReplyDecoder decode) noexcept {
    if (call.size() > kCapacity) return false;
    std::uint32_t available = kAvailable;
    if (owner_.load(std::memory_order_relaxed) != kAvailable ||
        !owner_.compare_exchange_strong(available, kLane, std::memory_order_acq_rel))
        return false;
    shared_->owner.store(kLane, std::memory_order_relaxed);
    // A fresh state: nobody else can have cancelled or completed it yet.
    [[maybe_unused]] const bool running = state->set_running_or_notify_cancel();
    const std::uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
    state_.store(state, std::memory_order_relaxed);
    decode_ = decode;
    std::memcpy(shared_->bytes, call.data(), call.size());
    shared_->size.store(static_cast<std::uint32_t>(call.size()), std::memory_order_relaxed);
    shared_->seq.store(seq, std::memory_order_relaxed);
    // After the call's bytes: the thread that claims the ticket then reads the reply's bytes
    // where the call's were, and must see this thread's writes as done (ThreadSanitizer
    // cannot see the worker's writes in between).
    ticket_.store(seq, std::memory_order_release);
    shared_->phase.store(kCall, std::memory_order_seq_cst);
    // The worker sets worker_sleeping, then looks at the phase once more, then sleeps.
    const bool sleeping = shared_->worker_sleeping.load(std::memory_order_seq_cst) != 0;
    if (sleeping) write_one(worker_wake_fd_);
    woke_worker_.store(sleeping, std::memory_order_relaxed);
    return true;
}

std::string_view Lane::copy_reply() {
    const std::size_t size = std::min<std::size_t>(shared_->size.load(std::memory_order_relaxed), kCapacity);
    // Into a buffer the lane keeps: a 1 MiB reply copied into a fresh string each time cost
    // its page faults too (echo of 1 MiB: 563 -> 1051 us).
    copy_.assign(shared_->bytes, size);
    return copy_;
}

bool Lane::take_shared_reply(std::uint64_t t) noexcept {
    if (shared_->phase.load(std::memory_order_acquire) != kReply || !claim(t)) return false;
    // Taken: the worker sends no notice while a big reply is being copied.
    shared_->phase.store(kTaking, std::memory_order_relaxed);
    std::string_view reply;
    std::exception_ptr error;
    try {
        reply = copy_reply();
    } catch (...) {
        error = std::current_exception();  // out of memory: the future fails with it
    }
    finish(t, reply, error);
    return true;
}

void Lane::help(const StateBase& state, const Deadline& deadline) noexcept {
    const std::uint64_t t = ticket_.load(std::memory_order_acquire);
    // Not (or no longer) in the lane. (A stale ticket beside this state only makes the
    // claim below fail: the reply then comes through the manager.)
    if (t == 0 || state_.load(std::memory_order_relaxed) != &state) return;
    // A worker woken from its sleep for this call is often queued on this very CPU (Linux
    // wakes a task near its waker): pausing would keep it off the CPU for the whole spin
    // (after 1 ms idle, a round trip took 270 us instead of 80), so yield instead.
    const bool yield = woke_worker_.load(std::memory_order_relaxed);
    auto until = Clock::now() + kWaiterSpin;
    if (deadline && *deadline < until) until = *deadline;
    shared_->waiters.fetch_add(1, std::memory_order_seq_cst);
    for (unsigned i = 0;; ++i) {
        const std::uint32_t p = shared_->phase.load(std::memory_order_acquire);
        if (p == kReply) {
            take_shared_reply(t);
            break;
        }
        if (p != kCall || state.done() || ticket_.load(std::memory_order_relaxed) != t) break;
        if (i % 64 == 0 && Clock::now() >= until) break;
        if (yield) sched_yield();
        else cpu_relax();
    }
    shared_->waiters.fetch_sub(1, std::memory_order_seq_cst);
    // A reply that came as this thread gave up: take it rather than wait for the notice.
    take_shared_reply(t);
}

void Lane::finish(std::uint64_t t, std::string_view reply, const std::exception_ptr& error) noexcept {
    StateBase* const state = state_.exchange(nullptr, std::memory_order_relaxed);
    const ReplyDecoder decode = decode_;
    shared_->phase.store(kFree, std::memory_order_release);
    bool decoded = false;
    if (!error) {
        try {
            decode(state, reply);
            decoded = true;
        } catch (...) {
            // As through the socket: the pool is broken before this future fails (a submit
            // after it has failed throws), and the lane is not offered again.
            std::exception_ptr broken;
            try {
                broken = break_pool_("a result could not be decoded: " +
                                     exception_type_name(std::current_exception()) + ": " +
                                     exception_message(std::current_exception()));
            } catch (...) {
                broken = std::current_exception();
            }
            CallBook::fail(state, broken);
        }
    } else {
        CallBook::fail(state, error);
    }
    // LANE -> AVAILABLE, or MANAGER after a failure or when the call was stopped (the
    // manager may be killing the worker: no other call may start in it); never out of
    // DEAD (fail() ran meanwhile).
    const bool stopped = stop_ticket_.load(std::memory_order_seq_cst) == t;
    const std::uint32_t next = decoded && !stopped ? kAvailable : kManager;
    std::uint32_t lane = kLane;
    if (owner_.compare_exchange_strong(lane, next, std::memory_order_seq_cst))
        shared_->owner.store(next, std::memory_order_relaxed);
    if (next == kManager || manager_waits_.load(std::memory_order_seq_cst)) wake_manager();
    state->release();
}

void Lane::wake_manager() const noexcept { write_one(manager_wake_fd_); }

void Lane::offer() noexcept {
    std::uint32_t manager = kManager;
    if (owner_.compare_exchange_strong(manager, kAvailable, std::memory_order_acq_rel))
        shared_->owner.store(kAvailable, std::memory_order_relaxed);
}

void Lane::stop_requested(const StateBase& state) noexcept {
    const std::uint64_t t = ticket_.load(std::memory_order_seq_cst);
    if (t == 0 || state_.load(std::memory_order_seq_cst) != &state) return;  // not (or no longer) in the lane
    stop_ticket_.store(t, std::memory_order_seq_cst);
    wake_manager();
}

bool Lane::stopped_call_runs() noexcept {
    // stop_ticket_ stays set: if the call ends between this look and the kill, finish()
    // still sees it and keeps the lane from the next submitter, so the kill can only stop
    // the call it was meant for. (Tickets are never reused: a stale one matches nothing.)
    const std::uint64_t t = stop_ticket_.load(std::memory_order_seq_cst);
    return t != 0 && ticket_.load(std::memory_order_seq_cst) == t;
}

bool Lane::revoke() noexcept {
    std::uint32_t o = owner_.load(std::memory_order_acquire);
    while (o == kAvailable) {
        if (owner_.compare_exchange_weak(o, kManager, std::memory_order_acq_rel)) {
            shared_->owner.store(kManager, std::memory_order_relaxed);
            return true;
        }
    }
    return o == kManager || o == kDead;
}

bool Lane::plausible_notice(std::uint64_t id, std::size_t payload_size) const noexcept {
    if (id == 0 || id >= next_seq_.load(std::memory_order_relaxed)) return false;  // never given
    // A reply that did not fit comes at once, for the call in the lane: nothing else can
    // end that call meanwhile (waiters take replies in the lane only) while the worker lives.
    return payload_size == 0 || id == ticket_.load(std::memory_order_acquire);
}

void Lane::take_reply(std::uint64_t id, std::string_view elsewhere) {
    const std::uint64_t t = ticket_.load(std::memory_order_acquire);
    // A notice of an earlier call (a waiter took its reply meanwhile), or of none.
    if (t == 0 || id != t || !claim(t)) return;
    // The worker has written this call's reply, in the lane or in the frame (already in
    // the pool's memory): take it, whatever the phase word says now (a task's stray write
    // may have changed it).
    std::string_view reply = elsewhere;
    std::exception_ptr error;
    if (elsewhere.empty()) {
        try {
            reply = copy_reply();
        } catch (...) {
            error = std::current_exception();
        }
    }
    finish(t, reply, error);
}

void Lane::fail(const std::exception_ptr& error) noexcept {
    // No new call, ever: a thread finishing the lane's call right now cannot offer it again.
    owner_.store(kDead, std::memory_order_seq_cst);
    shared_->owner.store(kManager, std::memory_order_relaxed);
    const std::uint64_t t = ticket_.load(std::memory_order_acquire);
    if (t == 0) return;  // no call, or another thread is ending it
    // A reply the worker wrote before it went completes its call; otherwise the call fails,
    // whatever the shared memory says.
    if (take_shared_reply(t) || !claim(t)) return;
    finish(t, {}, error);
}

// ---- the worker's side -------------------------------------------------------------

WorkerLane::~WorkerLane() {
    if (shared_) ::munmap(shared_, sizeof(Shared));
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool WorkerLane::attach(int memfd, int wake_fd) noexcept {
    void* p = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    ::close(memfd);
    if (p == MAP_FAILED) {
        ::close(wake_fd);
        return false;
    }
    shared_ = static_cast<Shared*>(p);
    wake_fd_ = wake_fd;
    return true;
}

bool WorkerLane::settle_notify(int sock, bool now) noexcept {
    if (!notify_pending_) return true;
    if (shared_->phase.load(std::memory_order_acquire) != kReply) {
        notify_pending_ = false;  // a waiter took it (or is taking it)
        return true;
    }
    if (!now && (notify_when_sleeping_ || std::chrono::steady_clock::now() < last_call_end_ + kNotifyAfter)) return true;
    notify_pending_ = false;
    std::string frame;
    wire::append_frame(frame, wire::Kind::lane_done, seq_, {});
    return wire::write_all(sock, frame.data(), frame.size());
}

bool WorkerLane::wait(int sock) noexcept {
    if (!shared_) return true;
    const auto spin_until = last_call_end_ + kWorkerSpin;
    for (unsigned i = 0;; ++i) {
        if (has_call()) {
            notify_pending_ = false;  // a new call: the last reply was taken
            return true;
        }
        // The pool took the worker back: what it sends comes on the socket.
        if (shared_->owner.load(std::memory_order_relaxed) == kManager) break;
        if (i % 64 == 0) {
            if (!settle_notify(sock, false)) return false;
            if (std::chrono::steady_clock::now() >= spin_until) break;
        }
        // A reply still not taken after a few pauses may have its taker queued on this
        // very CPU (a worker woken from poll() runs near its waker): give way then.
        if (i >= 32 && shared_->phase.load(std::memory_order_relaxed) == kReply) sched_yield();
        else cpu_relax();
    }
    if (!settle_notify(sock, true)) return false;
    shared_->worker_sleeping.store(1, std::memory_order_seq_cst);
    // A submitter publishes CALL, then reads worker_sleeping: one of us sees the other.
    if (shared_->phase.load(std::memory_order_seq_cst) != kCall) {
        pollfd fds[2] = {{sock, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        while (::poll(fds, 2, -1) < 0 && errno == EINTR) {
        }
        std::uint64_t v;
        [[maybe_unused]] const auto n = ::read(wake_fd_, &v, sizeof v);
    }
    shared_->worker_sleeping.store(0, std::memory_order_relaxed);
    return true;
}

std::string WorkerLane::reply(std::string_view reply) {
    std::string frame;
    last_call_end_ = std::chrono::steady_clock::now();
    // Stores, not compare-and-swaps: this worker knows it ran a lane call, whatever the
    // call's code wrote meanwhile in the shared memory; the pool decides whether anyone
    // still wants the reply (its ticket), never the phase.
    if (reply.size() <= kCapacity) {
        std::memcpy(shared_->bytes, reply.data(), reply.size());
        shared_->size.store(static_cast<std::uint32_t>(reply.size()), std::memory_order_relaxed);
        shared_->phase.store(kReply, std::memory_order_seq_cst);
        notify_pending_ = true;  // told after kNotifyAfter unless taken by then (wait())
        notify_when_sleeping_ = shared_->waiters.load(std::memory_order_seq_cst) != 0;
    } else {
        shared_->phase.store(kReplyElsewhere, std::memory_order_seq_cst);
        wire::append_frame(frame, wire::Kind::lane_done, seq_, reply);
    }
    return frame;
}

}  // namespace cf::detail::express
