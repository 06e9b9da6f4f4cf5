// The root side of the MPI executors: the MPI transport of the remote manager
// (src/remote/remote_manager.hpp), whose thread sends encoded calls to worker
// ranks and completes futures from their replies. MPI has no readiness
// notification, so it polls (with backoff) while calls are out and sleeps on a
// condition variable when none are. Nor does Open MPI 4.1 report a dead peer: the
// manager watches the workers on its own host itself (docs/mpi.md, section 2).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <cfutures/errors.hpp>
#include <cfutures/mpi.hpp>

#include "backoff.hpp"
#include "core.hpp"
#include "mpi_init.hpp"
#include "process_watch.hpp"
#include "protocol.hpp"
#include "remote/remote_manager.hpp"
#include "serving.hpp"

namespace cf::mpi::detail {

namespace {
using cf::detail::CallWindow;
using cf::detail::ReplyDecoder;
using cf::detail::StateBase;

/// How often the manager looks whether the workers on its host are alive, while calls are
/// out or a goodbye is awaited.
constexpr auto kWatchInterval = std::chrono::milliseconds(10);

/// A worker with calls of this many bytes in flight gets no more for now, whatever the
/// call window says: map() chunks of thousands of items would otherwise queue by the
/// megabyte in MPI's buffers, where they can no longer be cancelled.
constexpr std::size_t kMaxInFlightBytes = 256 * 1024;

std::mutex g_world_mutex;
bool g_world_claimed = false;  // guarded by g_world_mutex
/// The serving ranks of the job (world ownership) that said who they are: each says it once,
/// to whichever executor on MPI_COMM_WORLD reads it first.
std::unordered_map<int, ProcessId> g_world_processes;  // guarded by g_world_mutex
}  // namespace

void release_world_workers() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int r = 1; r < size; ++r) MPI_Send(nullptr, 0, MPI_BYTE, r, kTagExit, MPI_COMM_WORLD);
    for (int r = 1; r < size; ++r) {
        // Replies of calls an executor abandoned may still be queued before the goodbye.
        for (;;) {
            MPI_Status st;
            MPI_Probe(r, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            int count = 0;
            MPI_Get_count(&st, MPI_BYTE, &count);
            std::string sink(static_cast<std::size_t>(count), '\0');
            MPI_Recv(sink.data(), count, MPI_BYTE, r, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (st.MPI_TAG == kTagBye) break;
        }
    }
}

namespace {
struct Send {
    MPI_Request request = MPI_REQUEST_NULL;
    std::string bytes;
};

/// Requests that may never complete, as their peer died: freed, and their buffers kept for
/// the life of the process (MPI may still touch them). Never deleted, so never reported leaked.
struct Abandoned {
    std::mutex mutex;
    std::list<Send> buffers;
};
Abandoned& abandoned() {
    static auto* a = new Abandoned;
    return *a;
}
}  // namespace

/// The largest call a batch item carries: MPI counts bytes in an int.
constexpr std::size_t kMaxCallBytes =
    static_cast<std::size_t>(std::numeric_limits<int>::max()) - sizeof(std::uint64_t) - sizeof(std::uint32_t);

class MPICore final : public cf::detail::RemoteManager {
public:
    /// Started (start()) by its maker: the workers wait for its goodbye, calls or not.
    MPICore(MPI_Comm comm, std::vector<int> workers, Ownership ownership, std::string initializer)
        : RemoteManager(kMaxCallBytes), comm_(comm), ownership_(ownership), initializer_(std::move(initializer)) {
        for (int rank : workers) workers_.emplace_back(rank);
        batches_.resize(workers_.size());
        if (ownership_ == Ownership::world) {
            std::lock_guard g(g_world_mutex);
            for (auto& w : workers_) {
                if (auto it = g_world_processes.find(w.rank); it != g_world_processes.end()) watch(w, it->second);
            }
        }
    }

    ~MPICore() override {
        if (ownership_ == Ownership::world) {
            std::lock_guard g(g_world_mutex);
            g_world_claimed = false;
        }
    }

    /// The workers serving calls: none once the executor is shut down or broken (as
    /// mpi4py's num_workers), whatever a shutdown(wait=false) still lets them finish.
    int num_workers() const noexcept {
        std::lock_guard g(mutex_);
        return shutdown_ ? 0 : static_cast<int>(workers_.size());
    }

private:
    struct Worker {
        explicit Worker(int r) : rank(r) {}
        int rank;
        struct Sent {
            std::uint64_t id;
            CallWindow::Clock::time_point at;
            std::size_t bytes;
            std::chrono::nanoseconds timeout;  // zero: none
        };
        std::deque<Sent> in_flight;  // in the order sent; the first has begun (as the root sees it)
        // The first call's deadline, if it has a timeout: its future fails then, and the
        // rank runs it to its end (its result is dropped).
        CallWindow::Clock::time_point deadline = CallWindow::Clock::time_point::max();
        std::size_t in_flight_bytes = 0;
        CallWindow::Clock::time_point last_reply{};
        std::optional<ProcessId> process;  // set when it runs on this host (its kTagHello says)
        bool dead = false;
    };

    static void watch(Worker& w, const ProcessId& p) {
        if (watchable(p)) w.process = p;
    }

    // ---- the transport's side of the remote manager ------------------------------

    void wake() override { cv_.notify_one(); }

    /// A worker's pid, when its death broke the executor; how it ended is its launcher's
    /// to know (mpiexec's), not ours.
    std::exception_ptr make_broken(const std::string& why) const override {
        return std::make_exception_ptr(
            BrokenExecutor("the MPI executor is not usable anymore: " + why, death_pid_, std::nullopt, std::nullopt));
    }

    void on_break(const std::exception_ptr&) override {
        for (auto& w : workers_) {
            w.in_flight.clear();
            w.deadline = CallWindow::Clock::time_point::max();
            w.in_flight_bytes = 0;
        }
    }

    void run_loop() override {
        if (!initializer_.empty()) {
            for (auto& w : workers_) post(w.rank, kTagInit, std::string(initializer_));
        }
        Backoff backoff;
        for (;;) {
            bool progressed = take_submitted();
            expire_deadlines();
            progressed = dispatch() || progressed;
            progressed = receive() || progressed;
            progressed = reap_sends(/*all=*/!progressed) || progressed;
            if (!book_.empty() || !sends_.empty()) watch_workers();
            // After a death, sends to the dead worker never complete: release_workers() drops them.
            if (shutting_down_ && book_.empty() && (sends_.empty() || worker_died_)) return;
            if (progressed) {
                backoff.reset();
                continue;
            }
            if (book_.empty() && sends_.empty()) {
                // Nothing out: sleep until a submit or a shutdown.
                std::unique_lock lk(mutex_);
                cv_.wait(lk, [&] { return !submitted_.empty() || shutdown_; });
            } else {
                backoff.pause();
            }
        }
    }

    Worker* pick_worker(CallWindow::Clock::time_point now) {
        const std::size_t window = window_.size(now);
        Worker* best = nullptr;
        for (auto& w : workers_) {
            if (w.in_flight.empty()) return &w;
            if (w.in_flight.size() < window && w.in_flight_bytes < kMaxInFlightBytes &&
                (!best || w.in_flight.size() < best->in_flight.size()))
                best = &w;
        }
        return best;
    }

    /// Sends the queued calls the workers' windows allow, in batches per worker of at most
    /// kMaxBatchBytes (unless one call is larger).
    bool dispatch() {
        const auto now = CallWindow::Clock::now();
        const bool any = book_.dispatch([&] { return pick_worker(now); },
                                        [&](Worker& w, std::uint64_t id, const cf::detail::PendingCall& call) {
                                            const std::string& bytes = call.bytes;
                                            std::string& batch = batches_[static_cast<std::size_t>(&w - workers_.data())];
                                            if (!fits_in_batch(batch, bytes.size()))
                                                post(w.rank, kTagCall, std::exchange(batch, {}));
                                            append_item(batch, id, bytes);
                                            w.in_flight.push_back({id, now, bytes.size(), call.timeout});
                                            w.in_flight_bytes += bytes.size();
                                            if (w.in_flight.size() == 1) w.deadline = deadline_of(call.timeout, now);
                                        });
        for (std::size_t i = 0; i < batches_.size(); ++i) {
            if (!batches_[i].empty()) post(workers_[i].rank, kTagCall, std::exchange(batches_[i], {}));
        }
        return any;
    }

    void post(int rank, int tag, std::string bytes) {
        sends_.push_back(Send{MPI_REQUEST_NULL, std::move(bytes)});
        Send& s = sends_.back();
        check(MPI_Isend(s.bytes.data(), static_cast<int>(s.bytes.size()), MPI_BYTE, rank, tag, comm_, &s.request),
              "MPI_Isend");
    }

    /// Frees the buffers of completed sends. While busy (`all` false) it looks only at the
    /// oldest ones, up to the first still going: testing each of hundreds of sends in
    /// flight on every turn of the loop made the manager quadratic. When idle, all of them.
    bool reap_sends(bool all) {
        bool any = false;
        for (auto it = sends_.begin(); it != sends_.end();) {
            int done = 0;
            check(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE), "MPI_Test");
            if (done) {
                it = sends_.erase(it);
                any = true;
            } else if (all) {
                ++it;
            } else {
                break;
            }
        }
        return any;
    }

    bool receive() {
        bool any = false;
        for (;;) {
            int ready = 0;
            MPI_Status st;
            check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &ready, &st), "MPI_Iprobe");
            if (!ready) return any;
            if (st.MPI_TAG != kTagReply && st.MPI_TAG != kTagFatal && st.MPI_TAG != kTagHello) return any;  // not ours
            any = true;
            if (!take(st)) return any;  // its sender died while sending it
            if (st.MPI_TAG == kTagHello) {
                hello(st.MPI_SOURCE);
                continue;
            }
            if (st.MPI_TAG == kTagFatal) {
                const std::string_view body = std::string_view(buf_).substr(std::min(buf_.size(), sizeof(std::uint64_t)));
                break_executor("worker rank " + std::to_string(st.MPI_SOURCE) + ": " + std::string(body));
                return any;
            }
            std::size_t pos = 0;
            std::uint64_t id = 0;
            std::string_view reply;
            while (next_item(buf_, pos, id, reply)) complete_from(st.MPI_SOURCE, id, reply);
            if (pos != buf_.size()) {
                break_executor("worker rank " + std::to_string(st.MPI_SOURCE) + " sent a cut batch of replies");
                return any;
            }
        }
    }

    /// Receives the probed message into buf_; false when its sender died before all of it came
    /// (a large message arrives in pieces) — then the request is given up.
    bool take(const MPI_Status& st) {
        int count = 0;
        MPI_Get_count(&st, MPI_BYTE, &count);
        buf_.reserve(32);  // on the heap, never inline: abandon() may move it, MPI keeps its address
        buf_.resize(static_cast<std::size_t>(count));
        MPI_Request request = MPI_REQUEST_NULL;
        check(MPI_Irecv(buf_.data(), count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, comm_, &request), "MPI_Irecv");
        Backoff backoff;
        for (;;) {
            int done = 0;
            check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
            if (done) return true;
            if (auto death = find_dead_workers()) {
                if (!broken_by_death_) broken_by_death_ = death;
            }
            if (Worker* w = worker_at(st.MPI_SOURCE); w && w->dead) {
                MPI_Cancel(&request);
                std::list<Send> receipt;
                receipt.push_back(Send{request, std::move(buf_)});
                abandon(receipt);
                buf_.clear();
                return false;
            }
            backoff.pause();
        }
    }

    Worker* worker_at(int rank) {
        for (auto& w : workers_) {
            if (w.rank == rank) return &w;
        }
        return nullptr;
    }

    /// Gives up requests that wait for a dead worker: frees them and keeps their buffers
    /// where they are (the list nodes move, not the bytes).
    static void abandon(std::list<Send>& requests) {
        for (Send& r : requests) {
            if (r.request != MPI_REQUEST_NULL) MPI_Request_free(&r.request);
        }
        Abandoned& a = abandoned();
        std::lock_guard g(a.mutex);
        a.buffers.splice(a.buffers.end(), requests);
    }

    /// A worker said who it is (the kTagHello in buf_).
    void hello(int rank) {
        std::uint64_t pid = 0;
        if (buf_.size() < sizeof pid) return;
        std::memcpy(&pid, buf_.data(), sizeof pid);
        const ProcessId p = decode_process(pid, std::string_view(buf_).substr(sizeof pid));
        if (ownership_ == Ownership::world) {
            std::lock_guard g(g_world_mutex);
            g_world_processes[rank] = p;
        }
        if (Worker* w = worker_at(rank)) watch(*w, p);
    }

    /// Every kWatchInterval: marks the watched workers that are gone dead; describes the first.
    std::optional<std::string> find_dead_workers() {
        const auto now = std::chrono::steady_clock::now();
        if (now < next_watch_) return std::nullopt;
        next_watch_ = now + kWatchInterval;
        std::optional<std::string> first;
        for (auto& w : workers_) {
            if (w.dead || !w.process || !process_gone(*w.process)) continue;
            w.dead = true;
            worker_died_ = true;
            if (!first) {
                first = "worker rank " + std::to_string(w.rank) + " (pid " + std::to_string(w.process->pid) + ") died";
                if (!death_pid_) death_pid_ = static_cast<int>(w.process->pid);
            }
        }
        return first;
    }

    /// Breaks the executor when a watched worker is gone. What it sent before it died
    /// still completes its futures.
    void watch_workers() {
        std::optional<std::string> death = std::exchange(broken_by_death_, std::nullopt);
        if (!death) death = find_dead_workers();
        if (!death) return;
        receive();
        break_executor(*death);
    }

    /// The window's record of the worker's reply, then the call's completion.
    void complete_from(int source, std::uint64_t id, std::string_view reply) {
        for (auto& w : workers_) {
            if (w.rank != source) continue;
            auto pos = std::find_if(w.in_flight.begin(), w.in_flight.end(), [id](const auto& s) { return s.id == id; });
            if (pos == w.in_flight.end()) continue;
            const auto now = CallWindow::Clock::now();
            window_.record(pos->at, w.last_reply, now);
            w.last_reply = now;
            w.in_flight_bytes -= pos->bytes;
            const bool first = pos == w.in_flight.begin();
            w.in_flight.erase(pos);
            if (first) {
                w.deadline = w.in_flight.empty() ? CallWindow::Clock::time_point::max()
                                                 : deadline_of(w.in_flight.front().timeout, now);
            }
        }
        complete(id, reply);
    }

    static std::string stop_message(std::uint64_t id) {
        std::string bytes(sizeof id, '\0');
        std::memcpy(bytes.data(), &id, sizeof id);
        return bytes;
    }

    /// request_stop() asked some running calls' tokens to stop: tell their workers.
    void stop_cancelled_calls() override {
        for (auto& w : workers_) {
            for (const auto& sent : w.in_flight) {
                cf::detail::StateBase* state = book_.state_of(sent.id);
                if (state && state->take_stop_request()) post(w.rank, kTagStop, stop_message(sent.id));
            }
        }
    }

    /// Calls past their deadline fail with TimeoutError; their ranks run them to their end.
    void expire_deadlines() {
        const auto now = CallWindow::Clock::now();
        for (auto& w : workers_) {
            if (w.deadline > now) continue;
            w.deadline = CallWindow::Clock::time_point::max();
            if (w.in_flight.empty()) continue;
            const std::uint64_t id = w.in_flight.front().id;
            if (time_out(id, w.in_flight.front().timeout)) post(w.rank, kTagStop, stop_message(id));  // its token, if it takes one
        }
    }

    /// Waits for the sends, then gives the workers back according to the ownership.
    /// The job's serving ranks (world) stay up for the next executor on MPI_COMM_WORLD,
    /// but are drained too: a late reply or error report of this executor must not
    /// reach the next one, whose call ids start at 1 again.
    /// Dead workers get no farewell, and nothing is awaited from them. Open MPI aborts a
    /// spawned job as a whole when one of its processes dies, so then no spawned worker is
    /// waited for, and the intercommunicator is freed rather than disconnected
    /// (MPI_Comm_disconnect with a dead child job can hang for ever, docs/mpi.md).
    void release_workers() noexcept override {
        try {
            release_workers_or_throw();
        } catch (...) {
        }
    }

    void release_workers_or_throw() {
        finish_sends();
        const int farewell = ownership_ == Ownership::world ? kTagSync : kTagExit;
        for (auto& w : workers_) {
            if (!gone(w)) post(w.rank, farewell, {});
        }
        for (auto& w : workers_) wait_for_goodbye(w);
        finish_sends();
        if (ownership_ == Ownership::world) return;
        if (ownership_ == Ownership::spawned && !worker_died_) MPI_Comm_disconnect(&comm_);
        else MPI_Comm_free(&comm_);
    }

    /// True when nothing more can come from `w`.
    bool gone(const Worker& w) const { return w.dead || (worker_died_ && ownership_ == Ownership::spawned); }

    /// Waits for the sends to complete; after a death, gives up those that have not.
    void finish_sends() {
        Backoff backoff;
        while (!sends_.empty()) {
            if (reap_sends(/*all=*/true)) backoff.reset();
            if (worker_died_) {
                abandon(sends_);
                return;
            }
            backoff.pause();
            (void)find_dead_workers();
        }
    }

    /// Reads what `w` sends until its kTagBye (late replies of abandoned calls come first),
    /// or until it is found dead.
    void wait_for_goodbye(Worker& w) {
        Backoff backoff;
        while (!gone(w)) {
            int ready = 0;
            MPI_Status st;
            check(MPI_Iprobe(w.rank, MPI_ANY_TAG, comm_, &ready, &st), "MPI_Iprobe");
            if (!ready) {
                (void)find_dead_workers();
                backoff.pause();
                continue;
            }
            backoff.reset();
            if (!take(st)) return;
            if (st.MPI_TAG == kTagBye) return;
            if (st.MPI_TAG == kTagHello) hello(w.rank);
        }
    }

    MPI_Comm comm_;
    const Ownership ownership_;
    const std::string initializer_;
    std::vector<Worker> workers_;

    std::condition_variable cv_;  // the manager sleeps on it (with mutex_) when no call is out

    // The manager thread's own.
    bool worker_died_ = false;                       // a watched worker is gone
    std::optional<std::string> broken_by_death_;     // found while receiving, not yet acted on
    std::optional<int> death_pid_;                   // the pid of the first worker found dead
    std::chrono::steady_clock::time_point next_watch_{};
    std::vector<std::string> batches_;  // dispatch()'s batch per worker, empty between turns
    std::list<Send> sends_;
    std::string buf_;
};

void claim_world_ranks() {
    std::lock_guard g(g_world_mutex);
    if (g_world_claimed) throw std::runtime_error("cfutures: the job's worker ranks already serve another MPIPoolExecutor");
    g_world_claimed = true;
}

cf::detail::RemoteManager& manager_of(MPICore& core) noexcept { return core; }

int num_workers(const MPICore& core) noexcept { return core.num_workers(); }

std::shared_ptr<MPICore> started(MPI_Comm comm, std::vector<int> workers, Ownership ownership, std::string initializer) {
    auto core = std::make_shared<MPICore>(comm, std::move(workers), ownership, std::move(initializer));
    core->start();
    return core;
}

void remote_submit(MPICore& core, StateBase* state, std::string call, ReplyDecoder decode,
                   std::chrono::nanoseconds timeout) {
    core.submit(state, std::move(call), decode, timeout);
}

}  // namespace cf::mpi::detail
