// Bringing MPI up for the executors (unless the program did) and turning MPI's
// error codes into exceptions: what every MPI call the library makes relies on,
// root or worker.
#pragma once

#include <mpi.h>

namespace cf::mpi::detail {

/// Initialises MPI (MPI_THREAD_MULTIPLE) unless the program did; finalises it at exit if we did.
/// Asks Open MPI to oversubscribe, so spawning works with fewer cores than workers.
void ensure_initialized();

/// Throws std::runtime_error naming the MPI call when `rc` is an error.
void check(int rc, const char* call);

}  // namespace cf::mpi::detail
