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
// The worker shares the lane's memory, so nothing in it is trusted (the threat model in
// docs/design.md): a buggy task can scribble on any of its words. What the pool relies on
// lives in the pool's memory only:
//
//   owner_ (who may use the lane):
//     MANAGER ──offer() (manager: worker idle, nothing queued)──► AVAILABLE
//     AVAILABLE ──revoke() (manager: it wants the worker)──────► MANAGER
//     AVAILABLE ──try_start() (a submitter, under the pool's lock)─► LANE
//     LANE ──the reply taken and decoded (any thread)───────────► AVAILABLE
//     any ──fail() (the worker is gone)─────────────────────────► DEAD (for good)
//   ticket_: the sequence number of the call in the lane, 0 when there is none. Exactly
//     one thread ends a lane call: the one whose compare-and-swap takes ticket_ to 0 (a
//     waiter taking the reply, the manager on a lane_done frame, or fail()). The call's
//     state and decoder sit beside it.
//
// The shared words are hints between the two sides: `phase` (FREE ─pool─► CALL ─worker─►
// REPLY, or REPLY_ELSEWHERE when the reply did not fit and follows on the socket; the
// pool sets TAKING as it takes the reply, then FREE), `owner` (a copy of owner_, so that
// the worker stops spinning once the manager wants it), `waiters`, `worker_sleeping`,
// `size` and `seq`.
// A reply is taken by copying at most kCapacity bytes (the size read once) out of the
// shared memory, then decoding the copy. A forged phase at worst makes the pool decode
// garbage, which breaks it as any undecodable reply does; a forged size is bounded.
//
// A reply that cannot be decoded breaks the pool (as through the socket): the thread
// taking it marks the pool broken, then fails the future; the lane stays the manager's.
//
// The worker tells the manager of a reply (a lane_done frame) when nobody has taken it
// 20 µs after it was written: a caller usually reaches result() a moment after its
// submit and spins for the reply itself, and a manager woken for nothing then spins for
// 50 µs, stealing one of two cores from the caller and the worker. While a thread says
// it spins for the reply (`waiters`, a hint the pool writes), the notice waits longer,
// until the worker stops spinning itself (at most kWorkerSpin): a waiter preempted for
// 20 µs then costs no manager wake-up (round trip p99 0.9 µs, against 112 µs when the
// word was ignored, on a loaded machine). Never longer: a task that scribbles on the
// word delays an unwaited reply by 100 µs at most. (The notice once waited for as long
// as the word said so: a scribbled word kept a reply from ever reaching its future.)
#pragma once

#include <algorithm>
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
enum Owner : std::uint32_t { kManager = 0, kAvailable = 1, kLane = 2, kDead = 3 };

/// Bytes a call or a reply may have to travel in the lane.
inline constexpr std::size_t kCapacity = 4 * 1024 * 1024 - 256;

/// The lane's shared memory, mapped by the pool and by one worker: hints only (see above).
struct Shared {
    alignas(64) std::atomic<std::uint32_t> phase{kFree};
    std::atomic<std::uint32_t> size{0};  // bytes of the call (CALL) or of the reply (REPLY) in `bytes`
    std::atomic<std::uint64_t> seq{0};   // which lane call this is, echoed in lane_done frames
    alignas(64) std::atomic<std::uint32_t> owner{kManager};
    alignas(64) std::atomic<std::uint32_t> waiters{0};          // threads spinning for the reply (a hint)
    alignas(64) std::atomic<std::uint32_t> worker_sleeping{0};  // set while the worker blocks in poll()
    alignas(64) char bytes[kCapacity];
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free && std::atomic<std::uint64_t>::is_always_lock_free,
              "the lane's words are shared between processes");

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

    // ---- request_stop() of a call in the lane (any thread) --------------------------------
    /// The call of `state` was stopped while it ran: if it is the lane's, the manager is
    /// woken to kill the worker (stopped_call_runs()), and the lane is not offered again when the
    /// call ends meanwhile.
    void stop_requested(const StateBase& state) noexcept override;

    // ---- the manager thread ------------------------------------------------------------
    /// Whether a stopped call still runs in the lane: then the worker must be killed.
    [[nodiscard]] bool stopped_call_runs() noexcept;
    /// MANAGER -> AVAILABLE.
    void offer() noexcept;
    /// AVAILABLE -> MANAGER; true when no call can be in the lane (false while one is).
    bool revoke() noexcept;
    [[nodiscard]] bool busy() const noexcept { return owner_.load(std::memory_order_acquire) == kLane; }
    /// Whether a thread that frees the lane should wake the manager.
    void set_manager_waits(bool waits) noexcept { manager_waits_.store(waits, std::memory_order_seq_cst); }
    /// Whether a lane_done frame's id and payload can be what this lane's worker sends: an
    /// id the pool gave to a lane call, and a payload (a reply that did not fit) only for
    /// the call in the lane. A frame that cannot be is corrupt: the pool breaks.
    [[nodiscard]] bool plausible_notice(std::uint64_t id, std::size_t payload_size) const noexcept;
    /// A lane_done frame: takes the reply in the lane, or `elsewhere` (the frame's
    /// payload) when it did not fit; nothing if the call has ended already.
    void take_reply(std::uint64_t id, std::string_view elsewhere);
    /// The worker is gone: a call still in the lane fails with `error` (one whose reply
    /// is there completes). No new call is accepted, ever.
    void fail(const std::exception_ptr& error) noexcept;

private:
    /// Takes the reply in the shared memory for the call with ticket `t`, if it is there
    /// and nobody else ends that call.
    bool take_shared_reply(std::uint64_t t) noexcept;
    /// Ends the lane call this thread won `t` for (see ticket_): a copy of the reply decoded
    /// into its future, or `error` when there is none.
    void finish(std::uint64_t t, std::string_view reply, const std::exception_ptr& error) noexcept;
    /// The reply in the shared memory, copied out into copy_: its size read once and
    /// bounded. Only the thread that won the ticket uses copy_, until the lane is free.
    [[nodiscard]] std::string_view copy_reply();
    bool claim(std::uint64_t t) noexcept {
        return ticket_.compare_exchange_strong(t, 0, std::memory_order_acq_rel);
    }
    void wake_manager() const noexcept;
    void release_resources() noexcept;

    Shared* shared_ = nullptr;
    int memfd_ = -1;
    int worker_wake_fd_ = -1;
    int manager_wake_fd_ = -1;
    std::atomic<std::uint32_t> owner_{kManager};  // the truth; shared_->owner is its copy
    std::atomic<std::uint64_t> ticket_{0};        // the call in the lane (see above)
    std::atomic<std::uint64_t> stop_ticket_{0};   // a lane call stopped by request_stop()
    std::atomic<StateBase*> state_{nullptr};      // its state, written before ticket_
    ReplyDecoder decode_ = nullptr;               // its decoder, written before ticket_
    std::string copy_;  // the last reply taken from the shared memory (kept: up to kCapacity)
    std::atomic<std::uint64_t> next_seq_{1};      // written under the pool's lock
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

    /// The call's bytes (valid until `reply`), its sequence number kept for the notice.
    [[nodiscard]] std::string_view take_call() noexcept {
        seq_ = shared_->seq.load(std::memory_order_relaxed);
        return {shared_->bytes, std::min<std::size_t>(shared_->size.load(std::memory_order_relaxed), kCapacity)};
    }
    /// Publishes `reply` (into the lane if it fits); returns the lane_done frame to send
    /// now (with the reply, when it does not fit), or an empty string: a waiter spins for
    /// the reply, or the manager is told later by wait() if nobody takes it.
    std::string reply(std::string_view reply);

private:
    Shared* shared_ = nullptr;
    int wake_fd_ = -1;
    std::chrono::steady_clock::time_point last_call_end_{};
    bool notify_pending_ = false;  // a reply in the lane the manager has not been told of
    bool notify_when_sleeping_ = false;  // a waiter spun for it: told when the worker stops spinning
    std::uint64_t seq_ = 0;        // the sequence number of the lane call last taken

    /// Sends the held-back lane_done frame unless the reply has been taken; before its
    /// moment only if `now`. False if the socket is gone.
    bool settle_notify(int sock, bool now) noexcept;
};

}  // namespace cf::detail::express
