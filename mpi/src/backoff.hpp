// The polling back-off of the MPI executor's manager and workers. MPI has no
// readiness notification to sleep on, so both poll (MPI_Iprobe, MPI_Test); the
// pauses are what that costs in latency, and they are tuned in one place.
#pragma once

#include <chrono>
#include <thread>

namespace cf::mpi::detail {

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

}  // namespace cf::mpi::detail
