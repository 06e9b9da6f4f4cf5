// What the MPI executors' constructors (mpi/src/executors.cpp) need of the MPI
// transport (mpi/src/core.cpp), whose class stays in its own file.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "remote/remote_manager.hpp"

namespace cf::mpi::detail {

class MPICore;

/// Whose workers an executor has, and so how it gives them back at its end.
enum class Ownership {
    spawned,  // our own intercommunicator: say goodbye, then disconnect
    world,    // the job's serving ranks, borrowed: give them back as they are
    comm,     // a duplicate of the user's communicator: say goodbye, then free it
};

/// A manager over `workers` (ranks of `comm`), its thread started: the workers wait for
/// its goodbye whether calls come or not.
std::shared_ptr<MPICore> started(MPI_Comm comm, std::vector<int> workers, Ownership ownership, std::string initializer);

/// Claims the job's serving ranks (the CFUTURES_MPI_POOL switch) for one executor at a
/// time; throws std::runtime_error when another has them. Its core gives them back.
void claim_world_ranks();

/// The manager's face (submit, shutdown, detach_if_self) of a core.
cf::detail::RemoteManager& manager_of(MPICore& core) noexcept;

/// The workers serving calls: 0 once shut down or broken.
int num_workers(const MPICore& core) noexcept;

}  // namespace cf::mpi::detail
