// The express lane: one call at a time between a submitting thread and an idle
// worker, through shared memory, with the pool's manager thread out of the way.
//
// Why: a round trip through the manager costs two wake-ups of sleeping threads
// (the worker's, then the waiter's), 10-15 µs each on a virtual machine, and a
// third party in the path. Here the submitter writes the call into the idle
// worker's lane; the worker, still spinning after its previous lane call, runs
// it and writes the reply back; the thread waiting in result() (see
// WaitHelper) takes the reply itself. On 2 cores that is two spinning threads,
// not three.
//
// Who may touch the lane is `owner`, a word in the shared memory:
//
//   MANAGER ──offer() (manager: worker idle, nothing queued)──► AVAILABLE
//   AVAILABLE ──revoke() (manager: it wants the worker)──────► MANAGER
//   AVAILABLE ──try_start() (a submitter, under the pool's lock)─► LANE
//   LANE ──the reply taken and decoded (any thread)───────────► AVAILABLE
//
// and the call's progress is `phase`:
//
//   FREE ─submitter─► CALL ─worker─► REPLY ──CAS by a waiter or the manager─► TAKING ─► FREE
//                          └─worker─► REPLY_ELSEWHERE (too big: its bytes follow on the socket)
//                                        └─manager─► TAKING ─► FREE
//   CALL/REPLY ─manager, the worker died─► TAKING ─► FREE (the future fails)
//
// A reply that cannot be decoded breaks the pool (as through the socket): the
// thread taking it marks the pool broken, then fails the future; the lane stays
// the manager's.
//
// The worker tells the manager of a reply (a lane_done frame) only when no
// thread is spinning for it (`waiters`; both sides check the other's word
// after writing their own, so one of them always takes it), and only after
// 20 µs in which nobody took it: a caller usually reaches result() a moment
// after its submit, and a manager woken for nothing then spins for 50 µs,
// stealing one of two cores from the caller and the worker.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <chrono>

#include <cfutures/detail/remote_call.hpp>
#include <cfutures/detail/shared_state.hpp>

namespace cf::detail::express {

enum Phase : std::uint32_t { kFree = 0, kCall = 1, kReply = 2, kReplyElsewhere = 3, kTaking = 4 };
enum Owner : std::uint32_t { kManager = 0, kAvailable = 1, kLane = 2 };

/// Bytes a call or a reply may have to travel in the lane.
inline constexpr std::size_t kCapacity = 4 * 1024 * 1024 - 256;

/// The lane's shared memory, mapped by the pool and by one worker.
struct Shared {
    alignas(64) std::atomic<std::uint32_t> phase{kFree};
    std::uint32_t size = 0;  // bytes of the call (CALL) or of the reply (REPLY) in `bytes`
    std::uint64_t seq = 0;   // which lane call this is, echoed in lane_done frames
    alignas(64) std::atomic<std::uint32_t> owner{kManager};
    alignas(64) std::atomic<std::uint32_t> waiters{0};          // threads spinning for the reply
    alignas(64) std::atomic<std::uint32_t> worker_sleeping{0};  // set while the worker blocks in poll()
    alignas(64) char bytes[kCapacity];
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "the lane's words are shared between processes");

/// The pool's side of one worker's lane.
class Lane final : public WaitHelper {
public:
    /// Marks the pool broken because of `why` (a reply that could not be decoded) and
    /// returns the exception its futures fail with.
    using BreakPool = std::function<std::exception_ptr(const std::string& why)>;

    /// Creates the shared memory and the worker's wake-up eventfd; `manager_wake_fd` is
    /// duplicated, so that a lane outliving its pool (in a future) writes nowhere harmful.
    Lane(int manager_wake_fd, BreakPool break_pool);
    ~Lane() override;
    Lane(const Lane&) = delete;
    Lane& operator=(const Lane&) = delete;

    /// The fds the worker maps and waits on; sent to it once, then `forget_memfd()`.
    [[nodiscard]] int memfd() const noexcept { return memfd_; }
    [[nodiscard]] int worker_wake_fd() const noexcept { return worker_wake_fd_; }
    void forget_memfd() noexcept;

    // ---- submitters, under the pool's lock ------------------------------------------
    /// Claims the lane if it is AVAILABLE and the call fits, marks the call RUNNING (it
    /// goes straight to a worker) and hands it over. The lane takes the state's
    /// executor reference.
    bool try_start(StateBase* state, std::string_view call, ReplyDecoder decode) noexcept;

    // ---- a thread waiting in result() ------------------------------------------------
    void help(const StateBase& state, const Deadline& deadline) noexcept override;

    // ---- the manager thread ------------------------------------------------------------
    /// MANAGER -> AVAILABLE.
    void offer() noexcept;
    /// AVAILABLE -> MANAGER; true when the manager owns the lane (false while a call is in it).
    bool revoke() noexcept;
    [[nodiscard]] bool busy() const noexcept { return shared_->owner.load(std::memory_order_acquire) == kLane; }
    /// Whether a thread that frees the lane should wake the manager.
    void set_manager_waits(bool waits) noexcept { manager_waits_.store(waits, std::memory_order_seq_cst); }
    /// A lane_done frame: takes the reply in the lane, or `elsewhere` (the frame's
    /// payload) when it did not fit; nothing if a waiter took it first.
    void take_reply(std::string_view elsewhere);
    /// The worker is gone: a call still in the lane fails with `error` (one whose reply
    /// is there completes). No new call is accepted.
    void fail(const std::exception_ptr& error) noexcept;

private:
    /// The caller won REPLY/REPLY_ELSEWHERE -> TAKING: decodes `reply` into the call's future.
    void finish(std::string_view reply) noexcept;
    bool take(std::uint32_t from) noexcept;
    void wake_manager() const noexcept;
    void release_resources() noexcept;

    Shared* shared_ = nullptr;
    int memfd_ = -1;
    int worker_wake_fd_ = -1;
    int manager_wake_fd_ = -1;
    std::atomic<StateBase*> state_{nullptr};  // the call in the lane; written before CALL is published
    ReplyDecoder decode_ = nullptr;
    std::uint64_t next_seq_ = 1;
    std::atomic<bool> woke_worker_{false};  // the last call had to wake the worker from poll()
    std::atomic<bool> manager_waits_{false};
    BreakPool break_pool_;
};

/// The worker's side of its lane.
class WorkerLane {
public:
    WorkerLane() = default;
    ~WorkerLane();
    WorkerLane(const WorkerLane&) = delete;
    WorkerLane& operator=(const WorkerLane&) = delete;

    /// Maps the lane the pool sent (taking both fds); false if it cannot.
    bool attach(int memfd, int wake_fd) noexcept;
    [[nodiscard]] bool attached() const noexcept { return shared_ != nullptr; }
    [[nodiscard]] bool has_call() const noexcept {
        return shared_ && shared_->phase.load(std::memory_order_acquire) == kCall;
    }

    /// Waits for a lane call or for the socket `sock` to be readable: first spinning, if the
    /// last lane call ended moments ago and the pool has not taken the worker back, then
    /// in poll(). Returns when either may have something. Sends the lane_done frame that
    /// reply() held back when its time comes; false if the socket is gone.
    bool wait(int sock) noexcept;

    /// The call's bytes (valid until `reply`).
    [[nodiscard]] std::string_view call() const noexcept { return {shared_->bytes, shared_->size}; }
    /// Publishes `reply` (into the lane if it fits); returns the lane_done frame to send
    /// now (with the reply, when it does not fit), or an empty string: a waiter spins for
    /// the reply, or the manager is told later by wait() if nobody takes it.
    std::string reply(std::string_view reply);

private:
    Shared* shared_ = nullptr;
    int wake_fd_ = -1;
    std::chrono::steady_clock::time_point last_call_end_{};
    bool notify_pending_ = false;  // a reply in the lane the manager has not been told of

    /// Sends the held-back lane_done frame unless the reply has been taken; before its
    /// moment only if `now`. False if the socket is gone.
    bool settle_notify(int sock, bool now) noexcept;
};

}  // namespace cf::detail::express
