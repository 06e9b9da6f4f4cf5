// A downstream program of the mpi component: <cfutures/mpi.hpp> alone, linked to
// cfutures::mpi. It starts no MPI job (the MPI tests do): it checks that the
// installed header is complete on its own and that the program links and runs.
#include <cfutures/mpi.hpp>
#include <cfutures/version.hpp>

#include <cstdlib>
#include <iostream>

namespace {
void init() {}
}  // namespace

int main() {
    const cf::mpi::MPIPoolOptions options{.max_workers = 2, .initializer = &init};
    std::cout << "cfutures " << CFUTURES_VERSION << " mpi component: " << *options.max_workers
              << " workers, initializer " << (options.initializer ? "set" : "missing") << '\n';
    return options.initializer ? EXIT_SUCCESS : EXIT_FAILURE;
}
