// cf::mpi: the executor whose workers are MPI processes, on one host or many
// (mpi4py.futures for C++). It shares the process pool's rules for callables,
// arguments, results and errors; only the transport and the worker's entry differ.
//
// Three ways to start, as mpi4py.futures:
//  1. Dynamic: a program started alone (or by `mpiexec -n 1`) constructs an
//     MPIPoolExecutor, which spawns max_workers copies of the program
//     (MPI_Comm_spawn); they serve calls and never run main.
//  2. `CFUTURES_MPI_POOL=1 mpiexec -n N ./app` (the switch, like
//     `python -m mpi4py.futures`): rank 0 runs main and its MPIPoolExecutor uses
//     ranks 1..N-1, which serve calls instead of running main, until rank 0 exits.
//  3. SPMD code: every rank constructs MPICommExecutor(comm, root); the non-root
//     ranks serve calls inside the constructor and return once the root's
//     executor shuts down; `if (executor)` is true on the root only.
//
// MPI is initialised (MPI_THREAD_MULTIPLE) when the program has not done it, and
// finalised at exit. A program that initialises MPI itself must ask for
// MPI_THREAD_MULTIPLE: the executor talks to its workers from its own thread.
#pragma once

#include <mpi.h>

#include <memory>
#include <optional>
#include <string>

#include <cfutures/detail/remote_executor.hpp>
#include <cfutures/remote_initializer.hpp>

namespace cf::mpi {

/// mpi4py's MPIPoolExecutor(max_workers, initializer, initargs) keywords.
struct MPIPoolOptions {
    /// Dynamic mode: how many workers to spawn (default: hardware threads).
    /// Under the CFUTURES_MPI_POOL switch the workers are the job's other ranks.
    std::optional<int> max_workers{};
    /// Runs first in each worker; if it throws, the executor breaks (cf::BrokenExecutor).
    RemoteInitializer initializer{};
};

namespace detail {
/// The root side: talks to the workers from a manager thread. Defined in mpi/src.
class MPICore;
void remote_submit(MPICore& core, cf::detail::StateBase* state, std::string call, cf::detail::ReplyDecoder decode,
                   std::chrono::nanoseconds timeout);
/// A rank runs a call to its end: request_stop() of a running call asks its stop token,
/// when it takes one.
constexpr cf::detail::RemoteStop remote_stop_of(const MPICore*) noexcept { return cf::detail::RemoteStop::by_token; }
}  // namespace detail

/// An executor whose workers are MPI processes. submit() and map() follow
/// ProcessPoolExecutor's rules; a call that throws never brings the job down.
class MPIPoolExecutor : public cf::detail::RemoteExecutor<detail::MPICore> {
public:
    /// MPIPoolExecutor(MPIPoolOptions{}).
    MPIPoolExecutor();
    /// Spawns the workers (dynamic mode), or, under the CFUTURES_MPI_POOL switch, uses
    /// the job's other ranks. Throws std::invalid_argument when max_workers <= 0.
    explicit MPIPoolExecutor(MPIPoolOptions options);
    /// shutdown(true).
    ~MPIPoolExecutor() override;

    /// See Executor::shutdown; spawned workers exit, the job's ranks go back to waiting.
    void shutdown(bool wait = true, bool cancel_futures = false) override;

    /// The number of worker processes (they are up once the constructor returns); 0 once
    /// the executor is shut down or broken, as mpi4py.futures says.
    [[nodiscard]] int num_workers() const noexcept;

protected:
    /// For MPICommExecutor: an executor over a core it has made (none on a non-root rank).
    explicit MPIPoolExecutor(std::shared_ptr<detail::MPICore> core);
};

/// SPMD use: every rank of `comm` constructs it; the non-root ranks serve calls
/// in the constructor and return when the root's executor shuts down.
/// Throws std::invalid_argument, on every rank, when `comm` is MPI_COMM_NULL or an
/// intercommunicator, when `root` is not a rank of `comm`, or when `comm` has no rank
/// besides the root.
class MPICommExecutor : public MPIPoolExecutor {
public:
    /// On the root: an executor over the other ranks of `comm`, each running
    /// `initializer` first. On the others: serves calls, returns once the root shuts down.
    explicit MPICommExecutor(MPI_Comm comm = MPI_COMM_WORLD, int root = 0, RemoteInitializer initializer = {});
    /// shutdown(true) on the root.
    ~MPICommExecutor() override;

    /// True on the root, where the executor can be used.
    explicit operator bool() const noexcept { return static_cast<bool>(core_); }
};

}  // namespace cf::mpi
