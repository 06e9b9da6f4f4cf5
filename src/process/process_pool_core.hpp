// ProcessPoolExecutor's transport: the remote manager (src/remote/remote_manager.hpp)
// over worker processes, one manager thread per pool that owns them.
//
//   submit() ──► submitted_ (mutex) ──eventfd──► manager thread
//                                                 │ CallBook (not yet sent: still cancellable)
//                                                 ▼
//                                worker sockets (non-blocking, batched writes)
//                                                 │           ▲ replies
//                                                 ▼           │
//                                           worker processes ─┘
//                                                 │ exit
//                                                 ▼
//                                              pidfds ──► death noticed from the process itself
//
// The manager learns that a worker died from its pidfd, never only from its
// socket; then every unfinished future fails with BrokenProcessPool.
//
// Where each part is defined:
//   process_pool.cpp          the manager loop: dispatch, sockets, replies, a worker's end
//   process_pool_stops.cpp    stopping calls: deadlines, skips, halts, kills, requeues
//   process_pool_watches.cpp  replies held behind a long call: the courier's poke
#pragma once

#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <cfutures/errors.hpp>
#include <cfutures/process_pool.hpp>

#include "../remote/remote_manager.hpp"
#include "express_lanes.hpp"
#include "launcher.hpp"
#include "stop_board.hpp"
#include "wire.hpp"

namespace cf::detail {

namespace process_manager {

/// A worker whose socket has this much not yet taken gets no more calls for now: they
/// would only wait in the manager's memory, and could no longer be cancelled.
inline constexpr std::size_t kMaxUnsentBytes = 256 * 1024;

/// How long the manager polls for replies before it blocks in epoll_wait.
inline constexpr std::chrono::microseconds kPollBeforeBlocking{50};

inline constexpr const char* kBrokenPrefix = "A child process terminated abruptly, the process pool is not usable anymore";


struct Worker {
    pid_t pid = -1;
    int sock = -1;
    int pidfd = -1;
    struct Sent {
        std::uint64_t id;
        CallWindow::Clock::time_point at;
        std::chrono::nanoseconds timeout;  // zero: none
    };
    std::deque<Sent> in_flight;  // in the order sent; the first has begun (as the pool sees it)
    CallWindow::Clock::time_point deadline = CallWindow::Clock::time_point::max();  // of the first, if it has a timeout
    std::uint64_t stop_target = 0;  // a stopped call it has begun: killed for once the calls before it are answered
    bool stopping = false;          // SIGKILLed to stop a call: its end does not break the pool
    std::uint64_t killed_for = 0;   // the call it was killed for (0: a lane call)
    bool over_memory = false;       // said it exceeds max_memory_per_child and exits
    std::unique_ptr<StopBoard> board;
    CallWindow::Clock::time_point last_reply{};
    bool watched = false;  // the board says the pool watches its replies (reply_courier.hpp)
    CallWindow::Clock::time_point watch_at{};  // when the pool looks again whether it holds one
    int sent = 0;
    bool retiring = false;  // reached max_tasks_per_child: gets no more calls
    bool told_to_exit = false;
    bool want_write = false;
    std::string out;
    std::size_t out_pos = 0;
    wire::FrameReader in;
    std::string fatal;  // what the worker said before dying, if anything
    std::string crash;  // its crash report (untrusted bytes), if it sent one
    std::shared_ptr<express::Lane> lane;  // null with max_tasks_per_child (calls are counted there)
};

// epoll tags: the worker's key times 4 plus the kind of fd.
enum : std::uint64_t { kTagSocket = 0, kTagPidfd = 1, kTagWake = 2 };

}  // namespace process_manager

class ProcessPoolCore final : public RemoteManager {
    using Worker = process_manager::Worker;

public:
    explicit ProcessPoolCore(ProcessPoolOptions options);

    ~ProcessPoolCore() override {
        ::close(epfd_);
        ::close(wake_fd_);
    }

    void signal_workers(int sig);

    int max_workers() const noexcept { return max_workers_; }

    std::vector<pid_t> worker_pids() const {
        std::lock_guard g(mutex_);
        return {live_pids_.begin(), live_pids_.end()};
    }

private:
    // ---- the transport's side of the remote manager ------------------------------

    void wake() override {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
    }

    std::exception_ptr make_broken(const std::string& why) const override { return broken_pool(why); }

    static std::exception_ptr broken_pool(const std::string& why) {
        return std::make_exception_ptr(BrokenProcessPool(std::string(process_manager::kBrokenPrefix) + ": " + why));
    }

    /// As Python, forked workers are all started up front, before the manager thread
    /// exists and before the parent grows more state; and from here, with submitters held
    /// on the lock, so that no thread of ours is inside the allocator at the fork (GCC 12's
    /// ThreadSanitizer does not make its allocator fork-safe: a forked worker could block
    /// on its lock forever). With them, the zygote that forks the later ones (launcher.hpp).
    void before_manager_starts_locked() override {
        if (method_ != StartMethod::Fork) return;
        while (static_cast<int>(workers_.size()) < max_workers_) register_worker_locked(start_worker());
        zygote_ = std::make_unique<ForkZygote>();
    }

    /// An idle worker's express lane.
    bool try_express_locked(StateBase* state, const std::string& bytes, ReplyDecoder decode) override {
        return lanes_.try_submit_locked(state, bytes, decode);
    }

    void on_break_locked() override {
        for (pid_t pid : live_pids_) ::kill(pid, SIGKILL);
    }

    /// Submitters no longer reach the lanes (the pool is broken); their calls fail here,
    /// outside the lock, because failing a future runs its callbacks.
    void on_break(const std::exception_ptr& error) override { lanes_.fail_all(error); }

    // ---- the manager thread ---------------------------------------------------------

    void run_loop() override;

    /// epoll_wait, polling for a while first: a reply or submit that comes within
    /// kPollBeforeBlocking is handled without the scheduler's wake-up, which costs
    /// tens of microseconds on a virtual machine. (Workers do not poll: on 2 cores,
    /// polling workers made round trips twice as slow.)
    int wait_for_events(std::vector<epoll_event>& events, CallWindow::Clock::time_point deadline);

    Worker* pick_worker(CallWindow::Clock::time_point now);

    bool killing() {
        std::lock_guard g(mutex_);
        return killing_;
    }

    void dispatch(CallWindow::Clock::time_point now);

    Worker& spawn_worker();

    /// Lists a started worker's pid and lane for the submit side (under mutex_).
    void register_worker_locked(const Worker& w) {
        live_pids_.insert(w.pid);
        if (w.lane) lanes_.add_locked(w.lane);
    }

    /// Starts a worker process and adds it to workers_; the caller registers it.
    Worker& start_worker();

    /// Whether the manager waits for a lane to be freed (see LaneSet::manager_waits).
    bool lanes_wake_manager() {
        const bool waiting = book_.has_queued() || shutting_down_;
        lanes_.manager_waits(waiting);
        return waiting;
    }

    /// Offers the lanes of idle workers to submitters, when no call waits for a worker.
    void offer_lanes();

    void flush_all() {
        for (auto& [key, w] : workers_) flush(key, w);
    }

    void flush(std::uint64_t key, Worker& w);

    void handle_event(const epoll_event& ev);

    /// Reads what the worker sent; returns false at EOF.
    bool read_replies(Worker& w);

    // ---- stopping calls (API.md, "stopping calls"; stop_board.hpp) --------------------

    /// The worker's first call in flight has begun (as far as the pool can tell): its clock starts.
    static void first_began(Worker& w, CallWindow::Clock::time_point now) {
        w.deadline = deadline_of(w.in_flight.front().timeout, now);
    }

    /// Stops call `id`, in flight on `w`: skipped if the worker has not begun it, else the
    /// worker is killed once the calls before it have been answered.
    void stop_in_flight(Worker& w, std::uint64_t id);

    /// The worker runs its first call in flight, which was stopped: kill it, unless the
    /// call has ended meanwhile.
    void halt_and_kill(Worker& w);

    void kill_to_stop(Worker& w, std::uint64_t id);

    /// request_stop() stopped some running calls (their states are CANCELLED): stop ours.
    void stop_cancelled_calls() override;

    /// Calls past their deadline: their futures fail with TimeoutError, their workers are killed.
    void expire_deadlines(CallWindow::Clock::time_point now);

    /// The earliest deadline of a call that runs.
    CallWindow::Clock::time_point next_deadline() const;

    /// A worker killed to stop a call has ended: the calls it had not begun (every one in
    /// flight but the stopped one, which the halt kept it from going past) go to other
    /// workers; those whose futures have ended (stopped too) are dropped.
    void requeue_unbegun(Worker& w);

    // ---- replies held behind a long call (reply_courier.hpp) ---------------------------

    /// The pool has news of `w` (bytes from it, or calls for it): it looks again whether
    /// the worker holds a reply once the worker has been silent for kReplyHold.
    static void resume_watch(Worker& w, CallWindow::Clock::time_point now);

    /// Each watched worker silent since its watch_at (every one, `before_blocking`: no
    /// timer wakes the manager for them): if it has begun a later call than the oldest the
    /// pool awaits, that one's reply waits in it (or is on its way), and its courier is
    /// poked. If it runs the oldest, it holds nothing: the pool stops watching, and the
    /// worker sets its own timer when that call ends and another begins with replies
    /// pending. The pool hears from a poked worker, and watches it again then.
    void check_watches(CallWindow::Clock::time_point now, bool before_blocking);

    /// When the first watched worker is due to be looked at.
    CallWindow::Clock::time_point next_watch() const;

    // ---- a worker's end ------------------------------------------------------------

    void worker_exited(std::uint64_t key, Worker& w);

    void close_worker(std::uint64_t key, Worker& w);

    bool graceful_exit_done();

    /// Waits for every worker still alive (after a break they were SIGKILLed) so none is left a zombie.
    void release_workers() noexcept override;

    const int max_workers_;
    const StartMethod method_;
    const int max_tasks_;
    const std::size_t max_memory_;  // max_memory_per_child, 0: none
    const std::string initializer_;

    // Shared with submitters, under mutex_.
    bool killing_ = false;                 // guarded by mutex_
    std::unordered_set<pid_t> live_pids_;  // guarded by mutex_
    express::LaneSet lanes_;               // the workers' express lanes (see LaneSet::add_locked)
    int wake_fd_ = -1;
    int epfd_ = -1;

    // The manager thread's own.
    std::uint64_t next_worker_key_ = 1;
    std::unordered_map<std::uint64_t, Worker> workers_;
    std::size_t stopping_workers_ = 0;  // of workers_, killed to stop a call and not yet reaped
    std::unique_ptr<ForkZygote> zygote_;  // Fork: forks the workers after the first ones
    char read_chunk_[64 * 1024];
};


}  // namespace cf::detail
