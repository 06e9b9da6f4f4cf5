// The stop board: one page of shared memory per worker through which the pool stops a
// call it has sent without a round trip through the socket (API.md, "stopping calls").
//
// A worker runs the calls it was sent in order, and a call is handed to it before it
// begins (the future is RUNNING), so when a call is stopped the pool must know whether
// the worker has begun it: if so the worker is killed and replaced, and the calls behind
// it are sent to another worker; if not, the worker skips it. Three words decide that:
//
//   begun   worker: the id of the socket call it is about to run, stored before it
//           looks at `skips` and `halt`
//   skips   pool: how many ids it has written to the ring `skip_ids`: calls to skip
//   halt    pool: the id of the call it is killing the worker for; a worker that finds
//           halt set for an earlier call begins nothing until halt changes
//
// The pool writes (a skip, or halt), then reads `begun`; the worker writes `begun`, then
// reads skips and halt: all sequentially consistent, so one of the two sees the other.
// Stopping call X:
//   * skip(X), then begun < X: the worker will see the skip before it begins X. Done.
//   * else X has begun (or is skipped at this very moment): once every reply before X
//     has come, halt(X), then begun == X: X runs, and nothing after it will begin: kill.
//     begun > X: X ended; clear the halt, no kill.
// The same page carries one more word, for the replies a worker holds behind a long
// call (reply_courier.hpp): `watched`, set by the pool while it looks at `begun` and
// pokes the worker's courier through the board's eventfd when the worker holds a reply.
// The worker sets its own timer when it finds the word clear.
//
// The page is the worker's to scribble on (the threat model, docs/design.md §3a): a
// forged `begun` at worst kills a worker for nothing or lets a stopped call run to its
// end (its future is ended already, its result dropped); the pool reads nothing else.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace cf::detail {

inline constexpr std::size_t kSkipSlots = 32;

struct StopBoardShared {
    alignas(64) std::atomic<std::uint64_t> begun{0};
    alignas(64) std::atomic<std::uint64_t> halt{0};
    alignas(64) std::atomic<std::uint64_t> skips{0};
    std::atomic<std::uint64_t> skip_ids[kSkipSlots]{};
    alignas(64) std::atomic<std::uint64_t> watched{0};  // pool: nonzero while it watches the replies
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the board's words are shared between processes");

/// The pool's side of one worker's board.
class StopBoard {
public:
    /// Creates the shared page; throws std::system_error when it cannot.
    StopBoard();
    ~StopBoard();
    StopBoard(const StopBoard&) = delete;
    StopBoard& operator=(const StopBoard&) = delete;

    /// The fd the worker maps, sent once; then forget_memfd().
    [[nodiscard]] int memfd() const noexcept { return memfd_; }
    void forget_memfd() noexcept;
    /// The eventfd that pokes the worker's courier, sent with the memfd.
    [[nodiscard]] int poke_fd() const noexcept { return poke_fd_; }

    /// The call the worker says it runs (or has just run): only compared, never trusted.
    [[nodiscard]] std::uint64_t begun() const noexcept { return shared_->begun.load(std::memory_order_seq_cst); }
    /// Whether the pool watches for replies held behind a call; written before `begun`
    /// is read again (the worker writes `begun`, then reads this).
    void set_watched(bool watched) noexcept { shared_->watched.store(watched ? 1 : 0, std::memory_order_seq_cst); }
    /// Wakes the worker's courier: it sends the replies the worker holds.
    void poke() noexcept;

    /// Tells the worker to skip call `id` if it has not begun it; true when it had not
    /// (it will skip it, and answer with a `skipped` frame).
    bool skip(std::uint64_t id) noexcept;
    /// Holds the worker before its next call while it is killed for call `id` (the oldest
    /// it has not answered); true when `id` is what it runs now, so the kill stops it and
    /// nothing after it. False: `id` ended already (the hold is lifted again).
    bool halt(std::uint64_t id) noexcept;

private:
    StopBoardShared* shared_ = nullptr;
    int memfd_ = -1;
    int poke_fd_ = -1;
    std::uint64_t skips_ = 0;  // the pool's own count: the shared one is the worker's to scribble on
};

/// The worker's side.
class WorkerStopBoard {
public:
    WorkerStopBoard() = default;
    ~WorkerStopBoard();
    WorkerStopBoard(const WorkerStopBoard&) = delete;
    WorkerStopBoard& operator=(const WorkerStopBoard&) = delete;

    /// Maps the board the pool sent (taking the fd); false if it cannot.
    bool attach(int memfd) noexcept;

    /// Before socket call `id`: false when the pool asked to skip it. Waits while the pool
    /// is killing this worker for an earlier call.
    bool begin(std::uint64_t id) noexcept;

    /// The pool's `watched` word, for the courier; null before attach().
    [[nodiscard]] const std::atomic<std::uint64_t>* watched() const noexcept {
        return shared_ ? &shared_->watched : nullptr;
    }

private:
    StopBoardShared* shared_ = nullptr;
    std::uint64_t seen_ = 0;      // skip ids read so far
    std::uint64_t max_skip_ = 0;  // the largest skip id read: a call above it needs no look
};

}  // namespace cf::detail
