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
#include <cfutures/process_pool.hpp>

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <cfutures/errors.hpp>

#include "../posix_error.hpp"
#include "../remote/remote_manager.hpp"
#include "../worker_runtime/reply_courier.hpp"
#include "crash_report.hpp"
#include "express_lanes.hpp"
#include "frame_check.hpp"
#include "worker_start.hpp"
#include "wire.hpp"

namespace cf {
namespace detail {

namespace {

/// A worker whose socket has this much not yet taken gets no more calls for now: they
/// would only wait in the manager's memory, and could no longer be cancelled.
constexpr std::size_t kMaxUnsentBytes = 256 * 1024;

/// How long the manager polls for replies before it blocks in epoll_wait.
constexpr std::chrono::microseconds kPollBeforeBlocking{50};

constexpr const char* kBrokenPrefix = "A child process terminated abruptly, the process pool is not usable anymore";


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

}  // namespace

class ProcessPoolCore final : public RemoteManager {
public:
    explicit ProcessPoolCore(ProcessPoolOptions options)
        : RemoteManager(wire::kMaxPayload),
          max_workers_(options.max_workers ? *options.max_workers : default_worker_count()),
          method_(options.start_method),
          max_tasks_(options.max_tasks_per_child.value_or(0)),
          max_memory_(options.max_memory_per_child.value_or(0)),
          initializer_(options.initializer.bytes()) {
        if (options.max_workers && *options.max_workers <= 0)
            throw std::invalid_argument("max_workers must be greater than 0, got " + std::to_string(*options.max_workers));
        if (options.max_tasks_per_child) {
            if (*options.max_tasks_per_child < 1)
                throw std::invalid_argument("max_tasks_per_child must be >= 1, got " +
                                            std::to_string(*options.max_tasks_per_child));
            if (method_ == StartMethod::Fork)
                throw std::invalid_argument(
                    "max_tasks_per_child is incompatible with the Fork start method; use Spawn or ForkServer");
        }
        if (options.max_memory_per_child) {
            if (*options.max_memory_per_child == 0)
                throw std::invalid_argument("max_memory_per_child must be >= 1 byte, got 0");
            if (method_ == StartMethod::Fork)
                throw std::invalid_argument(
                    "max_memory_per_child is incompatible with the Fork start method; use Spawn or ForkServer");
        }
        wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_fd_ < 0) throw_errno("cfutures: eventfd");
        epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epfd_ < 0) {
            ::close(wake_fd_);
            throw_errno("cfutures: epoll_create1");
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kTagWake;
        ::epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_fd_, &ev);
    }

    ~ProcessPoolCore() override {
        ::close(epfd_);
        ::close(wake_fd_);
    }

    void signal_workers(int sig) {
        {
            std::lock_guard g(mutex_);
            // A pid leaves live_pids_ before it is reaped, so it cannot have been reused.
            for (pid_t pid : live_pids_) {
                ::kill(pid, sig);
                // A stopped worker (SIGSTOP) keeps a SIGTERM pending until it runs again.
                if (sig != SIGKILL) ::kill(pid, SIGCONT);
            }
            killing_ = true;
        }
        shutdown(false, true);
    }

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
        return std::make_exception_ptr(BrokenProcessPool(std::string(kBrokenPrefix) + ": " + why));
    }

    /// As Python, forked workers are all started up front, before the manager thread
    /// exists and before the parent grows more state; and from here, with submitters held
    /// on the lock, so that no thread of ours is inside the allocator at the fork (GCC 12's
    /// ThreadSanitizer does not make its allocator fork-safe: a forked worker could block
    /// on its lock forever).
    void before_manager_starts_locked() override {
        if (method_ != StartMethod::Fork) return;
        while (static_cast<int>(workers_.size()) < max_workers_) register_worker_locked(start_worker());
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

    void run_loop() override {
        std::vector<epoll_event> events(64);
        for (;;) {
            take_submitted();
            if (broken_here()) return;
            const auto now = CallWindow::Clock::now();
            expire_deadlines(now);
            lanes_wake_manager();
            dispatch(now);
            flush_all();
            offer_lanes();
            check_watches(now, /*before_blocking=*/false);
            if (graceful_exit_done()) return;
            const int n = wait_for_events(events, next_deadline());
            if (n < 0) {
                if (errno == EINTR) continue;
                throw_errno("cfutures: epoll_wait");
            }
            for (int i = 0; i < n && !broken_here(); ++i) handle_event(events[static_cast<std::size_t>(i)]);
            if (broken_here()) return;
        }
    }

    /// epoll_wait, polling for a while first: a reply or submit that comes within
    /// kPollBeforeBlocking is handled without the scheduler's wake-up, which costs
    /// tens of microseconds on a virtual machine. (Workers do not poll: on 2 cores,
    /// polling workers made round trips twice as slow.)
    int wait_for_events(std::vector<epoll_event>& events, CallWindow::Clock::time_point deadline) {
        const int size = static_cast<int>(events.size());
        const auto until = CallWindow::Clock::now() + kPollBeforeBlocking;
        auto watch = next_watch();
        auto now = CallWindow::Clock::now();
        do {
            const int n = ::epoll_wait(epfd_, events.data(), size, 0);
            if (n != 0) return n;
            now = CallWindow::Clock::now();
            if (now >= watch) {
                check_watches(now, /*before_blocking=*/false);
                watch = next_watch();
            }
        } while (now < until);
        check_watches(now, /*before_blocking=*/true);  // no timer wakes the manager for them
        int timeout_ms = -1;  // no call with a deadline
        if (deadline != CallWindow::Clock::time_point::max()) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            timeout_ms = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 60'000));
        }
        return ::epoll_wait(epfd_, events.data(), size, timeout_ms);
    }

    Worker* pick_worker(CallWindow::Clock::time_point now) {
        const std::size_t window = window_.size(now);
        Worker* best = nullptr;
        for (auto& [key, w] : workers_) {
            if (w.retiring || w.told_to_exit || w.stopping || w.stop_target || w.out.size() - w.out_pos > kMaxUnsentBytes)
                continue;
            if (w.lane && !w.lane->revoke()) continue;  // running a call from its express lane
            if (w.in_flight.empty()) return &w;  // idle workers are reused first
            if (w.in_flight.size() < window && (!best || w.in_flight.size() < best->in_flight.size())) best = &w;
        }
        // No idle worker: start one while below max_workers (as Python's _adjust_process_count).
        // A retiring worker (max_tasks_per_child) keeps its slot until it has exited, so that
        // no more than max_workers processes ever run calls at once.
        // A worker killed to stop a call is replaced at once, before it has been reaped:
        // the calls behind it would otherwise wait behind another worker's long call.
        if (static_cast<int>(workers_.size() - stopping_workers_) < max_workers_ && !killing()) return &spawn_worker();
        return best;
    }

    bool killing() {
        std::lock_guard g(mutex_);
        return killing_;
    }

    void dispatch(CallWindow::Clock::time_point now) {
        book_.dispatch([&] { return pick_worker(now); },
                       [&](Worker& w, std::uint64_t id, const PendingCall& call) {
                           wire::append_frame(w.out, wire::Kind::call, id, call.bytes);
                           w.in_flight.push_back({id, now, call.timeout});
                           resume_watch(w, now);
                           if (w.in_flight.size() == 1) first_began(w, now);
                           if (max_tasks_ > 0 && ++w.sent >= max_tasks_) w.retiring = true;
                       });
        note_queued();
    }

    Worker& spawn_worker() {
        if (method_ == StartMethod::Fork) {
            // A replacement of a worker killed to stop a call: forked from this thread, with
            // submitters held on the lock (as before_manager_starts_locked() does), so that
            // none of them is inside the allocator at the fork.
            std::lock_guard g(mutex_);
            Worker& w = start_worker();
            register_worker_locked(w);
            return w;
        }
        Worker& w = start_worker();
        std::lock_guard g(mutex_);
        register_worker_locked(w);
        return w;
    }

    /// Lists a started worker's pid and lane for the submit side (under mutex_).
    void register_worker_locked(const Worker& w) {
        live_pids_.insert(w.pid);
        if (w.lane) lanes_.add_locked(w.lane);
    }

    /// Starts a worker process and adds it to workers_; the caller registers it.
    Worker& start_worker() {
        // A lane's reply that cannot be decoded breaks the pool from the thread taking it.
        auto break_pool = [weak = weak_from_this()](const std::string& why) {
            if (auto core = weak.lock()) return core->break_from_elsewhere(why);
            return broken_pool(why);
        };
        StartedWorker started = start_worker_process(method_, max_tasks_, max_memory_, wake_fd_, break_pool);
        const std::uint64_t key = next_worker_key_++;
        Worker& w = workers_[key];
        w.pid = started.pid;
        w.sock = started.sock;
        w.pidfd = started.pidfd;
        w.lane = std::move(started.lane);
        w.board = std::move(started.board);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = key * 4 + kTagSocket;
        ::epoll_ctl(epfd_, EPOLL_CTL_ADD, w.sock, &ev);
        ev.data.u64 = key * 4 + kTagPidfd;
        ::epoll_ctl(epfd_, EPOLL_CTL_ADD, w.pidfd, &ev);
        if (!initializer_.empty()) wire::append_frame(w.out, wire::Kind::init, 0, initializer_);
        return w;
    }

    /// Whether the manager waits for a lane to be freed (see LaneSet::manager_waits).
    bool lanes_wake_manager() {
        const bool waiting = book_.has_queued() || shutting_down_;
        lanes_.manager_waits(waiting);
        return waiting;
    }

    /// Offers the lanes of idle workers to submitters, when no call waits for a worker.
    void offer_lanes() {
        if (lanes_wake_manager()) return;
        for (auto& [key, w] : workers_) {
            if (w.lane && !w.retiring && !w.told_to_exit && !w.stopping && w.in_flight.empty() && w.out_pos == w.out.size())
                w.lane->offer();
        }
    }

    void flush_all() {
        for (auto& [key, w] : workers_) flush(key, w);
    }

    void flush(std::uint64_t key, Worker& w) {
        while (w.out_pos < w.out.size()) {
            const ssize_t n = ::send(w.sock, w.out.data() + w.out_pos, w.out.size() - w.out_pos, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                // EPIPE and friends: the worker is dying; its pidfd will say how.
                w.out.clear();
                w.out_pos = 0;
                break;
            }
            w.out_pos += static_cast<std::size_t>(n);
        }
        if (w.out_pos == w.out.size() || w.out_pos > kMaxUnsentBytes) {
            w.out.erase(0, w.out_pos);  // what was sent goes, lest the buffer only grow
            w.out_pos = 0;
        }
        const bool want = w.out_pos < w.out.size();
        if (want != w.want_write) {
            w.want_write = want;
            epoll_event ev{};
            ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
            ev.data.u64 = key * 4 + kTagSocket;
            ::epoll_ctl(epfd_, EPOLL_CTL_MOD, w.sock, &ev);
        }
    }

    void handle_event(const epoll_event& ev) {
        const std::uint64_t tag = ev.data.u64 % 4;
        if (tag == kTagWake) {
            std::uint64_t v;
            [[maybe_unused]] const auto n = ::read(wake_fd_, &v, sizeof v);
            return;
        }
        const std::uint64_t key = ev.data.u64 / 4;
        auto it = workers_.find(key);
        if (it == workers_.end()) return;
        Worker& w = it->second;
        if (tag == kTagSocket) {
            if (ev.events & EPOLLOUT) flush(key, w);
            if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_replies(w);
        } else {
            worker_exited(key, w);
        }
    }

    /// Reads what the worker sent; returns false at EOF.
    bool read_replies(Worker& w) {
        bool open = true;
        bool heard = false;
        for (;;) {
            // A fixed buffer, appended: growing the string first would zero-fill it on every read.
            const ssize_t n = ::read(w.sock, read_chunk_, sizeof read_chunk_);
            if (n < 0 && errno == EINTR) continue;
            if (n == 0) open = false;
            if (n <= 0) break;
            w.in.buffer().append(read_chunk_, static_cast<std::size_t>(n));
            heard = true;
        }
        wire::Header h{};
        std::string_view payload;
        const char* bad = nullptr;
        auto check = [&w](const wire::Header& hd) {
            return check_worker_frame(hd, w.in_flight.empty() ? nullptr : &w.in_flight.front().id, w.lane.get());
        };
        if (heard) resume_watch(w, CallWindow::Clock::now());
        while (!broken_here()) {
            const auto next = w.in.next(h, payload, check, bad);
            if (next == wire::FrameReader::Next::none) break;
            if (next == wire::FrameReader::Next::bad) {
                break_executor("worker " + std::to_string(w.pid) + " sent a corrupt frame (" + bad + ")");
                return open;
            }
            if (h.kind == wire::Kind::fatal) {
                w.fatal.assign(payload);
                continue;
            }
            if (h.kind == wire::Kind::retiring) {
                w.retiring = true;
                w.over_memory = true;  // its calls not begun go to another worker when it has exited
                continue;
            }
            if (h.kind == wire::Kind::crash) {
                w.crash.assign(payload);  // bounded by check_worker_frame; parsed and checked when it dies
                continue;
            }
            if (h.kind == wire::Kind::lane_done) {
                w.lane->take_reply(h.id, payload);
                continue;
            }
            const auto now = CallWindow::Clock::now();
            const auto sent_at = w.in_flight.front().at;
            w.in_flight.pop_front();
            if (h.kind == wire::Kind::skipped) {
                if (auto call = book_.take(h.id)) call->state->release();  // stopped: its future has ended
            } else {
                window_.record(sent_at, w.last_reply, now);
                w.last_reply = now;
                if (!complete(h.id, payload)) return open;
            }
            if (w.stop_target == h.id) w.stop_target = 0;  // it ended before the pool could stop it
            if (!w.in_flight.empty()) first_began(w, now);
            else w.deadline = CallWindow::Clock::time_point::max();
            if (w.stop_target && !w.in_flight.empty() && w.in_flight.front().id == w.stop_target) halt_and_kill(w);
        }
        return open;
    }

    // ---- stopping calls (API.md, "stopping calls"; stop_board.hpp) --------------------

    /// The worker's first call in flight has begun (as far as the pool can tell): its clock starts.
    static void first_began(Worker& w, CallWindow::Clock::time_point now) {
        w.deadline = deadline_of(w.in_flight.front().timeout, now);
    }

    /// Stops call `id`, in flight on `w`: skipped if the worker has not begun it, else the
    /// worker is killed once the calls before it have been answered.
    void stop_in_flight(Worker& w, std::uint64_t id) {
        // A call before the stop target has ended: the target had begun when it was
        // stopped, and the worker runs calls in order. Its reply is on its way (dropped).
        if (w.stopping || id < w.stop_target) return;
        if (w.board && w.board->skip(id)) {
            // Not begun, and will not be: the future has ended; the skipped frame will come.
            return;
        }
        w.stop_target = id;
        if (w.in_flight.front().id == id) halt_and_kill(w);
    }

    /// The worker runs its first call in flight, which was stopped: kill it, unless the
    /// call has ended meanwhile.
    void halt_and_kill(Worker& w) {
        const std::uint64_t id = w.stop_target;
        w.stop_target = 0;
        if (w.board && !w.board->halt(id)) return;  // it ended: its reply is on its way
        kill_to_stop(w, id);
    }

    void kill_to_stop(Worker& w, std::uint64_t id) {
        if (!w.stopping) ++stopping_workers_;
        w.stopping = true;
        w.killed_for = id;
        w.deadline = CallWindow::Clock::time_point::max();
        std::lock_guard g(mutex_);
        ::kill(w.pid, SIGKILL);  // still in live_pids_: not reaped, so not reused
        // No longer one of the pool's workers (worker_pids()), though its exit may take a
        // while (a sanitizer's process unmaps terabytes of shadow): nothing signals it again,
        // and it is reaped when its pidfd says it has ended.
        live_pids_.erase(w.pid);
    }

    /// request_stop() stopped some running calls (their states are CANCELLED): stop ours.
    void stop_cancelled_calls() override {
        for (auto& [key, w] : workers_) {
            if (w.stopping) continue;
            if (w.lane && w.lane->stopped_call_runs()) {
                kill_to_stop(w, 0);
                continue;
            }
            std::vector<std::uint64_t> stopped;
            for (const auto& sent : w.in_flight) {
                StateBase* state = book_.state_of(sent.id);
                if (state && state->cancelled() && sent.id != w.stop_target) stopped.push_back(sent.id);
            }
            for (std::uint64_t id : stopped) stop_in_flight(w, id);
        }
    }

    // ---- replies held behind a long call (reply_courier.hpp) ---------------------------

    /// The pool has news of `w` (bytes from it, or calls for it): it looks again whether
    /// the worker holds a reply once the worker has been silent for kReplyHold.
    static void resume_watch(Worker& w, CallWindow::Clock::time_point now) {
        w.watch_at = now + kReplyHold;
        if (w.watched || !w.board) return;
        w.board->set_watched(true);  // before the calls go out: the worker reads it before each
        w.watched = true;
    }

    /// Each watched worker silent since its watch_at (every one, `before_blocking`: no
    /// timer wakes the manager for them): if it has begun a later call than the oldest the
    /// pool awaits, that one's reply waits in it (or is on its way), and its courier is
    /// poked. If it runs the oldest, it holds nothing: the pool stops watching, and the
    /// worker sets its own timer when that call ends and another begins with replies
    /// pending. The pool hears from a poked worker, and watches it again then.
    void check_watches(CallWindow::Clock::time_point now, bool before_blocking) {
        for (auto& [key, w] : workers_) {
            if (!w.watched || w.stopping || (!before_blocking && now < w.watch_at)) continue;
            const std::uint64_t oldest = w.in_flight.empty() ? 0 : w.in_flight.front().id;
            if (w.in_flight.size() < 2 || w.board->begun() <= oldest) {
                // Cleared, then `begun` read again: a worker that began another call meanwhile
                // either sees the word clear (and sets its timer) or is seen here.
                w.board->set_watched(false);
                if (w.in_flight.size() < 2 || w.board->begun() <= oldest) {
                    w.watched = false;
                    continue;
                }
                w.board->set_watched(true);
            }
            w.board->poke();
            w.watch_at = now + kReplyHold;
        }
    }

    /// When the first watched worker is due to be looked at.
    CallWindow::Clock::time_point next_watch() const {
        auto next = CallWindow::Clock::time_point::max();
        for (const auto& [key, w] : workers_)
            if (w.watched && !w.stopping) next = std::min(next, w.watch_at);
        return next;
    }

    /// Calls past their deadline: their futures fail with TimeoutError, their workers are killed.
    void expire_deadlines(CallWindow::Clock::time_point now) {
        for (auto& [key, w] : workers_) {
            if (w.deadline > now) continue;
            w.deadline = CallWindow::Clock::time_point::max();
            if (w.in_flight.empty() || w.stopping) continue;
            const auto& first = w.in_flight.front();
            if (time_out(first.id, first.timeout)) stop_in_flight(w, first.id);
        }
    }

    /// The earliest deadline of a call that runs.
    CallWindow::Clock::time_point next_deadline() const {
        auto next = CallWindow::Clock::time_point::max();
        for (const auto& [key, w] : workers_) next = std::min(next, w.deadline);
        return next;
    }

    /// A worker killed to stop a call has ended: the calls it had not begun (every one in
    /// flight but the stopped one, which the halt kept it from going past) go to other
    /// workers; those whose futures have ended (stopped too) are dropped.
    void requeue_unbegun(Worker& w) {
        std::vector<std::uint64_t> again;
        for (const auto& sent : w.in_flight) {
            StateBase* state = book_.state_of(sent.id);
            if (sent.id == w.killed_for || !state || state->done()) {
                if (auto call = book_.take(sent.id)) call->state->release();
            } else {
                again.push_back(sent.id);
            }
        }
        w.in_flight.clear();
        book_.requeue_front(again);
    }

    void worker_exited(std::uint64_t key, Worker& w) {
        read_replies(w);  // a worker writes everything before it exits: take its last replies
        int status = 0;
        {
            std::lock_guard g(mutex_);
            live_pids_.erase(w.pid);
        }
        while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (w.stopping || (w.over_memory && WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            // Killed to stop a call, or over max_memory_per_child: replaced, the pool lives on.
            requeue_unbegun(w);
            if (w.lane) w.lane->fail(std::make_exception_ptr(CancelledError()));
            close_worker(key, w);
            return;
        }
        const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0 && w.in_flight.empty() &&
                           (!w.lane || !w.lane->busy()) && (w.retiring || w.told_to_exit);
        if (!clean) {  // before close_worker: breaking fails the call in this worker's lane too
            const WorkerEnd end = describe_worker_end(w.pid, status, w.fatal, w.crash);
            // Made in a statement of its own: the temporary (whose message string the
            // exception_ptr's copy shares) is gone before any future fails.
            const auto error = std::make_exception_ptr(
                BrokenProcessPool(std::string(kBrokenPrefix) + ": " + end.text, w.pid, end.exit_code, end.signal_number));
            break_executor(error);
        }
        close_worker(key, w);
    }

    void close_worker(std::uint64_t key, Worker& w) {
        ::epoll_ctl(epfd_, EPOLL_CTL_DEL, w.sock, nullptr);
        ::epoll_ctl(epfd_, EPOLL_CTL_DEL, w.pidfd, nullptr);
        ::close(w.sock);
        ::close(w.pidfd);
        if (w.lane) {
            std::lock_guard g(mutex_);
            lanes_.remove_locked(w.lane);
        }
        if (w.stopping) --stopping_workers_;
        workers_.erase(key);
    }

    bool graceful_exit_done() {
        if (!shutting_down_ || !book_.empty()) return false;
        {
            std::lock_guard g(mutex_);
            if (!submitted_.empty()) return false;
        }
        for (auto& [key, w] : workers_) {
            if (w.lane && !w.lane->revoke()) return false;  // its lane call ends first (and wakes us)
        }
        for (auto& [key, w] : workers_) {
            if (!w.told_to_exit) {
                w.told_to_exit = true;
                wire::append_frame(w.out, wire::Kind::exit, 0, {});
                flush(key, w);
            }
        }
        return workers_.empty();
    }

    /// Waits for every worker still alive (after a break they were SIGKILLed) so none is left a zombie.
    void release_workers() noexcept override {
        for (auto& [key, w] : workers_) {
            {
                std::lock_guard g(mutex_);
                live_pids_.erase(w.pid);
                if (broken_here()) ::kill(w.pid, SIGKILL);
            }
            while (::waitpid(w.pid, nullptr, 0) < 0 && errno == EINTR) {
            }
            ::close(w.sock);
            ::close(w.pidfd);
        }
        workers_.clear();
        stopping_workers_ = 0;
    }

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
    char read_chunk_[64 * 1024];
};

void remote_submit(ProcessPoolCore& core, StateBase* state, std::string call, ReplyDecoder decode,
                   std::chrono::nanoseconds timeout) {
    core.submit(state, std::move(call), decode, timeout);
}

}  // namespace detail

ProcessPoolExecutor::ProcessPoolExecutor() : ProcessPoolExecutor(ProcessPoolOptions{}) {}

ProcessPoolExecutor::ProcessPoolExecutor(int max_workers)
    : ProcessPoolExecutor(ProcessPoolOptions{.max_workers = max_workers,
                                             .start_method = StartMethod::ForkServer,
                                             .initializer = {},
                                             .max_tasks_per_child = std::nullopt}) {}

ProcessPoolExecutor::ProcessPoolExecutor(ProcessPoolOptions options)
    : RemoteExecutor(std::make_shared<detail::ProcessPoolCore>(std::move(options))) {}

ProcessPoolExecutor::~ProcessPoolExecutor() {
    core_->shutdown(true, false);
    core_->detach_if_self();
}

void ProcessPoolExecutor::shutdown(bool wait, bool cancel_futures) { core_->shutdown(wait, cancel_futures); }
void ProcessPoolExecutor::terminate_workers() { core_->signal_workers(SIGTERM); }
void ProcessPoolExecutor::kill_workers() { core_->signal_workers(SIGKILL); }
int ProcessPoolExecutor::max_workers() const noexcept { return core_->max_workers(); }
std::vector<pid_t> ProcessPoolExecutor::worker_pids() const { return core_->worker_pids(); }

}  // namespace cf
