// Shows Executor::submit: Python's `executor.submit(pow, 323, 1235)`, with a
// modular pow so that the result fits a C++ integer (Python: pow(323, 1235, 10**9 + 7)).
#include <cfutures/cfutures.hpp>

#include <cstdint>
#include <cstdlib>
#include <iostream>

// Python's three-argument pow(base, exp, mod) by square-and-multiply; mod < 2**32
// keeps every product below 2**64.
std::uint64_t pow_mod(std::uint64_t base, std::uint64_t exp, std::uint64_t mod) {
    std::uint64_t result = 1 % mod;
    base %= mod;
    while (exp > 0) {
        if (exp & 1) result = result * base % mod;
        base = base * base % mod;
        exp >>= 1;
    }
    return result;
}

int main() {
    // with ThreadPoolExecutor(max_workers=1) as executor:
    cf::ThreadPoolExecutor executor(1);
    cf::Future<std::uint64_t> future = executor.submit(pow_mod, 323, 1235, 1'000'000'007);
    const std::uint64_t result = future.result();
    std::cout << result << '\n';               // 412738484, as Python prints
    return result == 412738484 ? EXIT_SUCCESS : EXIT_FAILURE;
}
