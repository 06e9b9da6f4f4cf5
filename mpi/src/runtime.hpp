// MPI set-up shared by the root and the workers: initialisation, the tags of
// the executor's messages, and the polling backoff.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <string>
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
};

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
