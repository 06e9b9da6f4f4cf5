// MPI set-up shared by the root and the workers: initialisation, the tags of
// the executor's messages, and the polling backoff.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

namespace cf::mpi::detail {

// Tags of the executor's messages (below 32767, the least MPI_TAG_UB a library may assume).
enum Tag : int {
    kTagCall = 31001,   // root -> worker: u64 id | encoded call
    kTagInit = 31002,   // root -> worker: encoded initializer
    kTagExit = 31003,   // root -> worker: stop serving (answered by kTagBye)
    kTagSync = 31004,   // root -> worker: answer kTagBye and keep serving (a world executor ends)
    kTagReply = 31011,  // worker -> root: u64 id | reply
    kTagFatal = 31012,  // worker -> root: u64 id | why the call or the initializer could not run
    kTagBye = 31013,    // worker -> root: the last message a worker sends
    kTagHello = 31014,  // worker -> root: u64 pid | ProcessId text; the first message of serve()
};

/// Who a worker process is: enough for the root to watch it when both run on one host.
struct ProcessId {
    std::uint64_t pid = 0;
    std::uint64_t start_time = 0;  // /proc/<pid>/stat field 22: a reused pid has another one
    std::string host;              // gethostname()
    std::string kernel;            // boot id and pid namespace: where a pid means the same process
};

/// The calling process.
ProcessId this_process();
/// The text a kTagHello carries after the pid, and back.
std::string encode_process_body(const ProcessId& p);
ProcessId decode_process(std::uint64_t pid, std::string_view body);
/// True when `p` runs on the caller's host (same host name) under the same kernel and pid
/// namespace, so that its pid can be looked at from here.
bool watchable(const ProcessId& p);
/// True only when `p` is surely gone: no such pid, a zombie, or its pid taken by another process.
bool process_gone(const ProcessId& p);

/// Initialises MPI (MPI_THREAD_MULTIPLE) unless the program did; finalises it at exit if we did.
/// Asks Open MPI to oversubscribe, so spawning works with fewer cores than workers.
void ensure_initialized();

/// Throws std::runtime_error naming the MPI call when `rc` is an error.
void check(int rc, const char* call);

/// Polling with growing pauses: MPI has no readiness notification to sleep on.
class Backoff {
public:
    void reset() noexcept { spins_ = 0; }
    void pause() {
        if (++spins_ < 64) return;  // keep polling: a reply is usually microseconds away
        const auto wait = std::chrono::microseconds(spins_ < 256 ? 10 : spins_ < 1024 ? 100 : 1000);
        std::this_thread::sleep_for(wait);
    }

private:
    unsigned spins_ = 0;
};

/// Serves calls from `root` on `comm` until told to exit (then sends kTagBye).
void serve(MPI_Comm comm, int root);

/// Rank 0 under the switch, at exit: tells the serving ranks to stop (before MPI_Finalize).
void release_world_workers();

/// The ranks of the job that serve calls under the CFUTURES_MPI_POOL switch, claimed by
/// rank 0's MPIPoolExecutor (one at a time). Returns false when the switch is off.
bool world_pool_active() noexcept;

}  // namespace cf::mpi::detail
