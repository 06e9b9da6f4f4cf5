// Shows cf::mpi::MPIPoolExecutor: the documentation's prime-checking example with
// MPI processes as workers — spawned by the program when started alone, or the
// job's other ranks under `CFUTURES_MPI_POOL=1 mpiexec -n N ./mpi_primes`.
#include <cfutures/mpi.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <vector>

const std::vector<std::int64_t> PRIMES = {
    112272535095293, 112582705942171, 112272535095293, 115280095190773, 115797848077099, 1099726899285419,
};

bool is_prime(std::int64_t n) {
    if (n < 2) return false;
    if (n == 2) return true;
    if (n % 2 == 0) return false;
    const auto sqrt_n = static_cast<std::int64_t>(std::floor(std::sqrt(static_cast<double>(n))));
    for (std::int64_t i = 3; i <= sqrt_n; i += 2) {
        if (n % i == 0) return false;
    }
    return true;
}

int main() {
    cf::mpi::MPIPoolExecutor executor(cf::mpi::MPIPoolOptions{.max_workers = 2});
    std::cout << "workers: " << executor.num_workers() << '\n';
    auto number = PRIMES.begin();
    int found = 0;
    for (bool prime : executor.map(&is_prime, PRIMES)) {
        std::cout << *number++ << " is prime: " << (prime ? "True" : "False") << '\n';
        found += prime;
    }
    return found == 5 ? EXIT_SUCCESS : EXIT_FAILURE;
}
