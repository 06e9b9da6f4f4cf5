// Which processes serve calls: serve() (worker.cpp), the loop of every MPI
// worker, and the CFUTURES_MPI_POOL switch, under which the ranks of the job
// but 0 serve from before main and rank 0 releases them at exit (core.cpp).
// Declared together because the takeover (worker.cpp) and the executor's
// constructors (core.cpp) both decide by them.
#pragma once

#include <mpi.h>

namespace cf::mpi::detail {

/// Serves calls from `root` on `comm` until told to exit (then sends kTagBye).
void serve(MPI_Comm comm, int root);

/// Rank 0 under the switch, at exit: tells the serving ranks to stop (before MPI_Finalize).
void release_world_workers();

/// The ranks of the job that serve calls under the CFUTURES_MPI_POOL switch, claimed by
/// rank 0's MPIPoolExecutor (one at a time). Returns false when the switch is off.
bool world_pool_active() noexcept;

}  // namespace cf::mpi::detail
