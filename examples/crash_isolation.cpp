// Shows crash isolation: a task that segfaults breaks only its ProcessPoolExecutor
// (BrokenProcessPool, naming the worker and the signal); the program carries on
// with a new pool.
#include <cfutures/cfutures.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>

int square(int x) { return x * x; }

int crash(int) {
    std::raise(SIGSEGV);  // stands in for a bug: a null dereference, a stack overflow, ...
    return 0;
}

int main() {
    {
        cf::ProcessPoolExecutor executor(2);
        auto ok = executor.submit(&square, 7);
        std::cout << "square(7) = " << ok.result() << '\n';
        auto bad = executor.submit(&crash, 0);
        try {
            bad.result();
            return EXIT_FAILURE;
        } catch (const cf::BrokenProcessPool& e) {
            std::cout << "the pool broke: " << e.what() << '\n';
        }
        try {
            executor.submit(&square, 8);
            return EXIT_FAILURE;
        } catch (const cf::BrokenProcessPool&) {
            std::cout << "and takes no more work\n";
        }
    }
    cf::ProcessPoolExecutor fresh(2);
    const int result = fresh.submit(&square, 9).result();
    std::cout << "a new pool carries on: square(9) = " << result << '\n';
    return result == 81 ? EXIT_SUCCESS : EXIT_FAILURE;
}
