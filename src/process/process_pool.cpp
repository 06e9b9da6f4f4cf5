// ProcessPoolExecutor's manager loop (process_pool_core.hpp has the picture): calls
// dispatched to worker sockets, replies read back, workers started and ended, and the
// executor's faces.
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "../posix_error.hpp"
#include "crash_report.hpp"
#include "frame_check.hpp"
#include "process_pool_core.hpp"
#include "worker_start.hpp"

namespace cf {
namespace detail {

using namespace process_manager;

ProcessPoolCore::ProcessPoolCore(ProcessPoolOptions options)
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

void ProcessPoolCore::signal_workers(int sig) {
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

void ProcessPoolCore::run_loop() {
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

int ProcessPoolCore::wait_for_events(std::vector<epoll_event>& events, CallWindow::Clock::time_point deadline) {
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

Worker* ProcessPoolCore::pick_worker(CallWindow::Clock::time_point now) {
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

void ProcessPoolCore::dispatch(CallWindow::Clock::time_point now) {
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

Worker& ProcessPoolCore::spawn_worker() {
    // Under Fork, a replacement of a worker killed to stop a call: forked by the zygote
    // (start_worker), not from this threaded program.
    Worker& w = start_worker();
    std::lock_guard g(mutex_);
    register_worker_locked(w);
    return w;
}

Worker& ProcessPoolCore::start_worker() {
    // A lane's reply that cannot be decoded breaks the pool from the thread taking it.
    auto break_pool = [weak = weak_from_this()](const std::string& why) {
        if (auto core = weak.lock()) return core->break_from_elsewhere(why);
        return broken_pool(why);
    };
    StartedWorker started = start_worker_process(method_, max_tasks_, max_memory_, wake_fd_, break_pool, zygote_.get());
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

void ProcessPoolCore::offer_lanes() {
    if (lanes_wake_manager()) return;
    for (auto& [key, w] : workers_) {
        if (w.lane && !w.retiring && !w.told_to_exit && !w.stopping && w.in_flight.empty() && w.out_pos == w.out.size())
            w.lane->offer();
    }
}

void ProcessPoolCore::flush(std::uint64_t key, Worker& w) {
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

void ProcessPoolCore::handle_event(const epoll_event& ev) {
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

bool ProcessPoolCore::read_replies(Worker& w) {
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

void ProcessPoolCore::worker_exited(std::uint64_t key, Worker& w) {
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

void ProcessPoolCore::close_worker(std::uint64_t key, Worker& w) {
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

bool ProcessPoolCore::graceful_exit_done() {
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

void ProcessPoolCore::release_workers() noexcept {
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
    zygote_.reset();
}

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
