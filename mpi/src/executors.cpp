// The MPI executors' constructors and faces: how a pool finds its workers (the job's
// ranks under the CFUTURES_MPI_POOL switch, or spawned ones), how MPICommExecutor
// checks its communicator on every rank, and the calls the executors forward to
// their manager (mpi/src/core.cpp).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <cfutures/mpi.hpp>

#include "core.hpp"
#include "mpi_init.hpp"
#include "serving.hpp"

namespace cf::mpi {
namespace detail {

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

std::shared_ptr<MPICore> make_pool_core(const MPIPoolOptions& options) {
    if (options.max_workers && *options.max_workers <= 0)
        throw std::invalid_argument("max_workers must be greater than 0, got " + std::to_string(*options.max_workers));
    ensure_initialized();
    if (world_pool_active()) {
        int size = 1;
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        if (size < 2) throw std::runtime_error("cfutures: CFUTURES_MPI_POOL is set but the job has no rank to serve calls");
        claim_world_ranks();
        const int n = options.max_workers ? std::min(*options.max_workers, size - 1) : size - 1;
        std::vector<int> ranks;
        for (int r = 1; r <= n; ++r) ranks.push_back(r);
        return started(MPI_COMM_WORLD, std::move(ranks), Ownership::world, options.initializer.bytes());
    }
    warn_if_every_rank_runs_main();
    const int n = options.max_workers.value_or(cf::detail::default_worker_count());
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
    return started(inter, std::move(ranks), Ownership::spawned, options.initializer.bytes());
}

}  // namespace

}  // namespace detail

MPIPoolExecutor::MPIPoolExecutor() : MPIPoolExecutor(MPIPoolOptions{}) {}

MPIPoolExecutor::MPIPoolExecutor(MPIPoolOptions options) : MPIPoolExecutor(detail::make_pool_core(options)) {}

MPIPoolExecutor::MPIPoolExecutor(std::shared_ptr<detail::MPICore> core) : RemoteExecutor(std::move(core)) {}

MPIPoolExecutor::~MPIPoolExecutor() {
    if (!core_) return;
    detail::manager_of(*core_).shutdown(true, false);
    detail::manager_of(*core_).detach_if_self();
}

void MPIPoolExecutor::shutdown(bool wait, bool cancel_futures) {
    if (core_) detail::manager_of(*core_).shutdown(wait, cancel_futures);
}

int MPIPoolExecutor::num_workers() const noexcept { return core_ ? detail::num_workers(*core_) : 0; }

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
    return detail::started(dup, std::move(ranks), detail::Ownership::comm, initializer.bytes());
}
}  // namespace

MPICommExecutor::MPICommExecutor(MPI_Comm comm, int root, RemoteInitializer initializer)
    : MPIPoolExecutor(make_comm_core(comm, root, initializer)) {}

MPICommExecutor::~MPICommExecutor() = default;

}  // namespace cf::mpi
