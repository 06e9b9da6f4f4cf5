// See mpi_init.hpp.
#include "mpi_init.hpp"

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

namespace cf::mpi::detail {

namespace {
void finalize_at_exit() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}
}  // namespace

void ensure_initialized() {
    static std::once_flag once;
    std::call_once(once, [] {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (initialized) return;
        // Spawning more workers than cores must just work (Open MPI refuses by default).
        ::setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", /*overwrite=*/0);
        int provided = 0;
        check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
        std::atexit(finalize_at_exit);
    });
}

void check(int rc, const char* call) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw std::runtime_error(std::string("cfutures: ") + call + " failed: " + std::string(text, static_cast<std::size_t>(len)));
}

}  // namespace cf::mpi::detail
