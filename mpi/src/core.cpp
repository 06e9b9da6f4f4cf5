// The root side of the MPI executors: a manager thread that sends encoded
// calls to worker ranks and completes futures from their replies. The same
// shape as the process pool's manager; MPI has no readiness notification, so
// it polls (with backoff) while calls are out and sleeps on a condition
// variable when none are. Nor does Open MPI 4.1 report a dead peer: the
// manager watches the workers on its own host itself (docs/mpi.md, section 2).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <cfutures/detail/call_book.hpp>
#include <cfutures/detail/call_window.hpp>
#include <cfutures/detail/type_name.hpp>
#include <cfutures/errors.hpp>
#include <cfutures/mpi.hpp>

#include "backoff.hpp"
#include "mpi_init.hpp"
#include "process_watch.hpp"
#include "protocol.hpp"
#include "serving.hpp"

namespace cf::mpi {
namespace detail {

namespace {
using cf::detail::CancelHandshake;
using cf::detail::CallBook;
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
/// "Type: what()" of the exception being handled, whatever its type.
std::string describe_current_exception_text() {
    const std::exception_ptr e = std::current_exception();
    return cf::detail::exception_type_name(e) + ": " + cf::detail::exception_message(e);
}

using Call = cf::detail::PendingCall;

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

enum class Ownership {
    spawned,  // our own intercommunicator: say goodbye, then disconnect
    world,    // the job's serving ranks, borrowed: give them back as they are
    comm,     // a duplicate of the user's communicator: say goodbye, then free it
};

class MPICore : public std::enable_shared_from_this<MPICore> {
public:
    MPICore(MPI_Comm comm, std::vector<int> workers, Ownership ownership, std::string initializer)
        : comm_(comm), ownership_(ownership), initializer_(std::move(initializer)) {
        for (int rank : workers) workers_.emplace_back(rank);
        batches_.resize(workers_.size());
        if (ownership_ == Ownership::world) {
            std::lock_guard g(g_world_mutex);
            for (auto& w : workers_) {
                if (auto it = g_world_processes.find(w.rank); it != g_world_processes.end()) watch(w, it->second);
            }
        }
        std::lock_guard g(mutex_);  // the manager may shut down (from a callback) at once
        manager_ = std::thread([this] { manager_main(); });
        cancel_.manager_started_locked(manager_.get_id());
    }

    ~MPICore() {
        shutdown(true, false);
        if (manager_.joinable()) manager_.detach();  // dropped on the manager thread itself
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

    void submit(StateBase* state, std::string bytes, ReplyDecoder decode) {
        std::unique_lock lk(mutex_);
        cf::detail::refuse_if_closed<BrokenExecutor>(lk, broken_, shutdown_, state);
        submitted_.push_back(Call{state, std::move(bytes), decode});
        lk.unlock();
        cv_.notify_one();
    }

    void shutdown(bool wait, bool cancel_futures) {
        CancelHandshake::Request cancel;
        {
            std::lock_guard g(mutex_);
            shutdown_ = true;
            if (cancel_futures) cancel = cancel_.begin_locked(submitted_);
        }
        cv_.notify_one();
        cancel_.complete(cancel, mutex_, book_);
        if (!wait) return;
        std::lock_guard jg(join_mutex_);
        if (manager_.joinable() && manager_.get_id() != std::this_thread::get_id()) manager_.join();
    }

    void detach_if_self() {
        std::lock_guard jg(join_mutex_);
        if (manager_.joinable() && manager_.get_id() == std::this_thread::get_id()) manager_.detach();
    }

private:
    struct Worker {
        explicit Worker(int r) : rank(r) {}
        int rank;
        struct Sent {
            std::uint64_t id;
            CallWindow::Clock::time_point at;
            std::size_t bytes;
        };
        std::deque<Sent> in_flight;  // in the order sent
        std::size_t in_flight_bytes = 0;
        CallWindow::Clock::time_point last_reply{};
        std::optional<ProcessId> process;  // set when it runs on this host (its kTagHello says)
        bool dead = false;
    };

    static void watch(Worker& w, const ProcessId& p) {
        if (watchable(p)) w.process = p;
    }

    void manager_main() {
        try {
            if (!initializer_.empty()) {
                for (auto& w : workers_) post(w.rank, kTagInit, std::string(initializer_));
            }
            run_loop();
        } catch (...) {
            break_executor("the executor's manager failed: " + describe_current_exception_text());
        }
        cancel_.manager_gone(mutex_);  // every call is done or failed by now
        try {
            release_workers();
        } catch (...) {
        }
    }

    void run_loop() {
        Backoff backoff;
        for (;;) {
            bool progressed = take_submitted();
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

    bool take_submitted() {
        std::deque<Call> fresh;
        std::uint64_t cancel = 0;
        {
            std::lock_guard g(mutex_);
            fresh.swap(submitted_);
            shutting_down_ = shutdown_;
            cancel = cancel_.pending_locked();
        }
        const bool any = !fresh.empty();
        book_.enqueue(fresh);
        if (cancel != 0) {  // shutdown(cancel_futures=true): what has not been sent
            book_.cancel_queued();
            cancel_.served(mutex_, cancel);
        }
        return any || cancel != 0;
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
                                        [&](Worker& w, std::uint64_t id, const std::string& bytes) {
                                            std::string& batch = batches_[static_cast<std::size_t>(&w - workers_.data())];
                                            if (!fits_in_batch(batch, bytes.size()))
                                                post(w.rank, kTagCall, std::exchange(batch, {}));
                                            append_item(batch, id, bytes);
                                            w.in_flight.push_back({id, now, bytes.size()});
                                            w.in_flight_bytes += bytes.size();
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
            while (next_item(buf_, pos, id, reply)) complete(st.MPI_SOURCE, id, reply);
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

    void complete(int source, std::uint64_t id, std::string_view reply) {
        for (auto& w : workers_) {
            if (w.rank != source) continue;
            auto pos = std::find_if(w.in_flight.begin(), w.in_flight.end(), [id](const auto& s) { return s.id == id; });
            if (pos == w.in_flight.end()) continue;
            const auto now = CallWindow::Clock::now();
            window_.record(pos->at, w.last_reply, now);
            w.last_reply = now;
            w.in_flight_bytes -= pos->bytes;
            w.in_flight.erase(pos);
        }
        std::optional<Call> taken = book_.take(id);
        if (!taken) return;  // failed already when the executor broke
        Call& call = *taken;
        try {
            call.decode(call.state, reply);
        } catch (...) {
            // User load() code may throw anything. Broken first (so a submit after this future
            // failed throws), then this running call fails too: it is no longer in the book.
            const std::string why = "a result could not be decoded: " + describe_current_exception_text();
            break_executor(why);
            CallBook::fail(call.state, std::make_exception_ptr(BrokenExecutor("the MPI executor is not usable anymore: " + why)));
            call.state->release();
            return;
        }
        call.state->release();
    }

    /// Fails every unfinished call with BrokenExecutor; later submits throw it.
    void break_executor(const std::string& why) {
        const std::string message = "the MPI executor is not usable anymore: " + why;
        {
            std::lock_guard g(mutex_);
            if (broken_.empty()) broken_ = message;
            shutdown_ = true;
            book_.enqueue(submitted_);  // failed below with the others
        }
        shutting_down_ = true;
        // A worker's pid, when its death broke the executor; how it ended is its launcher's
        // to know (mpiexec's), not ours.
        book_.fail_all(std::make_exception_ptr(BrokenExecutor(message, death_pid_, std::nullopt, std::nullopt)));
        for (auto& w : workers_) {
            w.in_flight.clear();
            w.in_flight_bytes = 0;
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
    void release_workers() {
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

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Call> submitted_;     // guarded by mutex_
    bool shutdown_ = false;          // guarded by mutex_
    CancelHandshake cancel_;         // guarded by mutex_
    std::string broken_;             // guarded by mutex_
    std::mutex join_mutex_;
    std::thread manager_;

    // The manager thread's own.
    bool shutting_down_ = false;
    bool worker_died_ = false;                       // a watched worker is gone
    std::optional<std::string> broken_by_death_;     // found while receiving, not yet acted on
    std::optional<int> death_pid_;                   // the pid of the first worker found dead
    std::chrono::steady_clock::time_point next_watch_{};
    CallBook book_;  // every unfinished call; those not sent yet, queued
    std::vector<std::string> batches_;  // dispatch()'s batch per worker, empty between turns
    CallWindow window_;  // calls in flight per worker
    std::list<Send> sends_;
    std::string buf_;
};

void remote_submit(MPICore& core, StateBase* state, std::string call, ReplyDecoder decode) {
    core.submit(state, std::move(call), decode);
}

namespace {

std::string self_path() {
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw std::runtime_error("cfutures: cannot find the program's path to spawn MPI workers");
    return std::string(buf, static_cast<std::size_t>(n));
}

/// Under `mpiexec -n N` without the CFUTURES_MPI_POOL switch every rank runs main, and
/// each builds its own pool: the program's output comes N times, and nothing says why.
/// Said once per process, by rank 0 only, so that the job prints it once (telling whether
/// the other ranks construct one too would take a collective call, which could hang).
void warn_if_every_rank_runs_main() {
    int size = 1;
    int rank = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (size < 2 || rank != 0) return;
    static std::once_flag said;
    std::call_once(said, [size] {
        std::fprintf(stderr,
                     "cfutures: warning: an MPIPoolExecutor was constructed in a job of %d ranks without "
                     "CFUTURES_MPI_POOL=1, so every rank runs main and spawns a pool of its own (the "
                     "program's output comes %d times). To run main on rank 0 only and have the other "
                     "ranks serve its calls, start it as `CFUTURES_MPI_POOL=1 mpiexec -n %d ./app`; for "
                     "code that runs on every rank, use cf::mpi::MPICommExecutor; or start the program "
                     "alone and let the pool spawn its workers.\n",
                     size, size, size);
    });
}

int default_workers() {
    const unsigned hw = std::thread::hardware_concurrency();
    return hw ? static_cast<int>(hw) : 1;
}

std::shared_ptr<MPICore> make_pool_core(const MPIPoolOptions& options) {
    if (options.max_workers && *options.max_workers <= 0)
        throw std::invalid_argument("max_workers must be greater than 0, got " + std::to_string(*options.max_workers));
    ensure_initialized();
    if (world_pool_active()) {
        int size = 1;
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        if (size < 2) throw std::runtime_error("cfutures: CFUTURES_MPI_POOL is set but the job has no rank to serve calls");
        {
            std::lock_guard g(g_world_mutex);
            if (g_world_claimed)
                throw std::runtime_error("cfutures: the job's worker ranks already serve another MPIPoolExecutor");
            g_world_claimed = true;
        }
        const int n = options.max_workers ? std::min(*options.max_workers, size - 1) : size - 1;
        std::vector<int> ranks;
        for (int r = 1; r <= n; ++r) ranks.push_back(r);
        return std::make_shared<MPICore>(MPI_COMM_WORLD, std::move(ranks), Ownership::world, options.initializer.bytes());
    }
    warn_if_every_rank_runs_main();
    const int n = options.max_workers.value_or(default_workers());
    const std::string exe = self_path();
    char flag[] = "--cfutures-mpi-worker";
    char* argv[] = {flag, nullptr};
    MPI_Comm inter = MPI_COMM_NULL;
    std::vector<int> errors(static_cast<std::size_t>(n));
    // Under mpiexec the environment no longer reaches the launcher: ask Open MPI to
    // oversubscribe through the spawn's info, so users need no flag.
    MPI_Info info = MPI_INFO_NULL;
    MPI_Info_create(&info);
    MPI_Info_set(info, "map_by", ":OVERSUBSCRIBE");
    const int rc = MPI_Comm_spawn(exe.c_str(), argv, n, info, 0, MPI_COMM_SELF, &inter, errors.data());
    MPI_Info_free(&info);
    check(rc, "MPI_Comm_spawn");
    std::vector<int> ranks;
    for (int r = 0; r < n; ++r) ranks.push_back(r);
    return std::make_shared<MPICore>(inter, std::move(ranks), Ownership::spawned, options.initializer.bytes());
}

}  // namespace

}  // namespace detail

MPIPoolExecutor::MPIPoolExecutor() : MPIPoolExecutor(MPIPoolOptions{}) {}

MPIPoolExecutor::MPIPoolExecutor(MPIPoolOptions options) : MPIPoolExecutor(detail::make_pool_core(options)) {}

MPIPoolExecutor::MPIPoolExecutor(std::shared_ptr<detail::MPICore> core) : RemoteExecutor(std::move(core)) {}

MPIPoolExecutor::~MPIPoolExecutor() {
    if (!core_) return;
    core_->shutdown(true, false);
    core_->detach_if_self();
}

void MPIPoolExecutor::shutdown(bool wait, bool cancel_futures) {
    if (core_) core_->shutdown(wait, cancel_futures);
}

int MPIPoolExecutor::num_workers() const noexcept { return core_ ? core_->num_workers() : 0; }

namespace {
std::shared_ptr<detail::MPICore> make_comm_core(MPI_Comm comm, int root, const RemoteInitializer& initializer) {
    detail::ensure_initialized();
    // Checked on every rank alike, before any rank waits for the others: a rank that
    // threw while the others went on would leave them waiting in MPI_Comm_dup forever.
    if (comm == MPI_COMM_NULL) throw std::invalid_argument("MPICommExecutor: the communicator is MPI_COMM_NULL");
    int inter = 0;
    detail::check(MPI_Comm_test_inter(comm, &inter), "MPI_Comm_test_inter");
    if (inter)
        throw std::invalid_argument(
            "MPICommExecutor: the communicator is an intercommunicator; it needs an intracommunicator, "
            "whose ranks serve its root (MPI_Intercomm_merge makes one)");
    int rank = 0;
    int size = 1;
    detail::check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
    detail::check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
    if (root < 0 || root >= size)
        throw std::invalid_argument("MPICommExecutor: root " + std::to_string(root) +
                                    " is not a rank of a communicator of " + std::to_string(size));
    if (size < 2)
        throw std::invalid_argument("MPICommExecutor: the communicator has no rank besides the root to serve calls");
    MPI_Comm dup = MPI_COMM_NULL;
    detail::check(MPI_Comm_dup(comm, &dup), "MPI_Comm_dup");
    if (rank != root) {
        detail::serve(dup, root);
        MPI_Comm_free(&dup);
        return nullptr;
    }
    std::vector<int> ranks;
    for (int r = 0; r < size; ++r) {
        if (r != root) ranks.push_back(r);
    }
    return std::make_shared<detail::MPICore>(dup, std::move(ranks), detail::Ownership::comm, initializer.bytes());
}
}  // namespace

MPICommExecutor::MPICommExecutor(MPI_Comm comm, int root, RemoteInitializer initializer)
    : MPIPoolExecutor(make_comm_core(comm, root, initializer)) {}

MPICommExecutor::~MPICommExecutor() = default;

}  // namespace cf::mpi
