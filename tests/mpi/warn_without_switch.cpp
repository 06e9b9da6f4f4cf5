// Under `mpiexec -n 2` without CFUTURES_MPI_POOL=1, every rank runs main and builds
// its own MPIPoolExecutor: rank 0 must say so on stderr, once however many pools it
// builds (warn_without_switch.sh counts it). Each pool spawns one worker and runs
// one call, so the program also shows that the pools still work.
#include <cfutures/mpi.hpp>

#include <cstdio>

namespace {
int twice(int x) { return 2 * x; }
}  // namespace

int main() {
    for (int i = 0; i < 2; ++i) {
        cf::mpi::MPIPoolExecutor ex(cf::mpi::MPIPoolOptions{.max_workers = 1});
        if (ex.submit(&twice, 21).result() != 42) {
            std::fprintf(stderr, "warn_without_switch: a call gave a wrong result\n");
            return 1;
        }
    }
    std::printf("warn_without_switch: two pools ran their calls\n");
    return 0;
}
