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

#include "wire.hpp"

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

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

void write_one(int fd) noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(fd, &one, sizeof one);
}

}  // namespace

// ---- the pool's side ------------------------------------------------------------------

Lane::Lane(int manager_wake_fd, BreakPool break_pool) : break_pool_(std::move(break_pool)) {
    memfd_ = ::memfd_create("cfutures-express-lane", MFD_CLOEXEC);
    if (memfd_ < 0) throw_errno("cfutures: memfd_create");
    if (::ftruncate(memfd_, sizeof(Shared)) != 0) {
        ::close(memfd_);
        throw_errno("cfutures: ftruncate of an express lane");
    }
    void* p = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED, memfd_, 0);
    if (p == MAP_FAILED) {
        ::close(memfd_);
        throw_errno("cfutures: mmap of an express lane");
    }
    shared_ = ::new (p) Shared;  // not Shared(): that would zero (and so touch) every page of the bytes
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
    if (shared_->owner.load(std::memory_order_relaxed) != kAvailable ||
        !shared_->owner.compare_exchange_strong(available, kLane, std::memory_order_acq_rel))
        return false;
    // A fresh state: nobody else can have cancelled or completed it yet.
    [[maybe_unused]] const bool running = state->set_running_or_notify_cancel();
    state_.store(state, std::memory_order_relaxed);
    decode_ = decode;
    std::memcpy(shared_->bytes, call.data(), call.size());
    shared_->size = static_cast<std::uint32_t>(call.size());
    shared_->seq = next_seq_++;
    shared_->phase.store(kCall, std::memory_order_seq_cst);
    // The worker sets worker_sleeping, then looks at the phase once more, then sleeps.
    const bool sleeping = shared_->worker_sleeping.load(std::memory_order_seq_cst) != 0;
    if (sleeping) write_one(worker_wake_fd_);
    woke_worker_.store(sleeping, std::memory_order_relaxed);
    return true;
}

bool Lane::take(std::uint32_t from) noexcept {
    return shared_->phase.compare_exchange_strong(from, kTaking, std::memory_order_acq_rel);
}

void Lane::help(const StateBase& state, const Deadline& deadline) noexcept {
    if (state_.load(std::memory_order_acquire) != &state) return;  // not (or no longer) in the lane
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
            // Whoever's it is: a reply in the lane may be taken by any thread.
            if (take(kReply)) finish({shared_->bytes, shared_->size});
            break;
        }
        if (p != kCall || state.done()) break;
        if (i % 64 == 0 && Clock::now() >= until) break;
        if (yield) sched_yield();
        else cpu_relax();
    }
    shared_->waiters.fetch_sub(1, std::memory_order_seq_cst);
    // The worker may have seen this thread spinning and told nobody else: look once more.
    if (shared_->phase.load(std::memory_order_seq_cst) == kReply && take(kReply)) finish({shared_->bytes, shared_->size});
}

void Lane::finish(std::string_view reply) noexcept {
    StateBase* const state = state_.load(std::memory_order_relaxed);
    try {
        decode_(state, reply);
    } catch (...) {
        // As through the socket: the pool is broken before this future fails (a submit
        // after it has failed throws), and the lane is not offered again.
        std::exception_ptr error;
        try {
            error = break_pool_("a result could not be decoded: " +
                                exception_type_name(std::current_exception()) + ": " +
                                exception_message(std::current_exception()));
        } catch (...) {
            error = std::current_exception();
        }
        CallBook::fail(state, error);
        state_.store(nullptr, std::memory_order_relaxed);
        shared_->phase.store(kFree, std::memory_order_release);
        shared_->owner.store(kManager, std::memory_order_seq_cst);
        wake_manager();
        state->release();
        return;
    }
    state_.store(nullptr, std::memory_order_relaxed);
    shared_->phase.store(kFree, std::memory_order_release);
    shared_->owner.store(kAvailable, std::memory_order_seq_cst);
    if (manager_waits_.load(std::memory_order_seq_cst)) wake_manager();
    state->release();
}

void Lane::wake_manager() const noexcept { write_one(manager_wake_fd_); }

void Lane::offer() noexcept {
    std::uint32_t manager = kManager;
    shared_->owner.compare_exchange_strong(manager, kAvailable, std::memory_order_acq_rel);
}

bool Lane::revoke() noexcept {
    std::uint32_t o = shared_->owner.load(std::memory_order_acquire);
    while (o == kAvailable) {
        if (shared_->owner.compare_exchange_weak(o, kManager, std::memory_order_acq_rel)) return true;
    }
    return o == kManager;
}

void Lane::take_reply(std::string_view elsewhere) {
    // A frame without the reply may be stale: sent for an earlier call whose reply a
    // waiter took meanwhile. It may take a reply in the lane (any thread may), never
    // REPLY_ELSEWHERE, whose bytes only the frame that carries them has.
    if (!elsewhere.empty()) {
        if (take(kReplyElsewhere)) finish(elsewhere);
    } else if (take(kReply)) {
        finish({shared_->bytes, shared_->size});
    }
}

void Lane::fail(const std::exception_ptr& error) noexcept {
    // The worker may still move CALL to REPLY (it is being killed): loop until the call
    // in the lane is settled one way or the other.
    for (;;) {
        const std::uint32_t p = shared_->phase.load(std::memory_order_acquire);
        if (p == kReply) {
            if (!take(kReply)) continue;
            finish({shared_->bytes, shared_->size});
        } else if (p == kCall || p == kReplyElsewhere) {
            if (!take(p)) continue;
            StateBase* const state = state_.exchange(nullptr, std::memory_order_relaxed);
            CallBook::fail(state, error);
            shared_->phase.store(kFree, std::memory_order_release);
            shared_->owner.store(kManager, std::memory_order_release);
            state->release();
        }
        break;  // FREE: no call; TAKING: a waiter is finishing it
    }
    // No new call. (A reply a waiter is taking right now frees the lane afterwards; the
    // pool is broken or the worker gone by then, so no submitter claims it.)
    revoke();
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
    if (!now && std::chrono::steady_clock::now() < last_call_end_ + kNotifyAfter) return true;
    notify_pending_ = false;
    std::string frame;
    wire::append_frame(frame, wire::Kind::lane_done, shared_->seq, {});
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
    // A CAS, not a store: if the pool has failed the call meanwhile (it is breaking), the
    // reply has no future left to go to.
    std::uint32_t call = kCall;
    if (reply.size() <= kCapacity) {
        std::memcpy(shared_->bytes, reply.data(), reply.size());
        shared_->size = static_cast<std::uint32_t>(reply.size());
        if (!shared_->phase.compare_exchange_strong(call, kReply, std::memory_order_seq_cst)) return frame;
        // A waiter decrements `waiters`, then looks at the phase: one of us sees the other.
        notify_pending_ = shared_->waiters.load(std::memory_order_seq_cst) == 0;
    } else {
        if (!shared_->phase.compare_exchange_strong(call, kReplyElsewhere, std::memory_order_seq_cst)) return frame;
        wire::append_frame(frame, wire::Kind::lane_done, shared_->seq, reply);
    }
    return frame;
}

}  // namespace cf::detail::express
