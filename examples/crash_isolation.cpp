// Shows crash isolation and crash reports: a task that segfaults breaks only its
// ProcessPoolExecutor, with a BrokenProcessPool that names the function that was
// running, the worker's pid and the signal, and shows the worker's stack at the
// signal; the program carries on with a new pool.
#include <cfutures/cfutures.hpp>

#include <cstdlib>
#include <iostream>

int square(int x) { return x * x; }

namespace {
int* volatile g_record = nullptr;  // never set: the bug
}

// A bug in a function of this file only (internal linkage): it is still named.
static int parse_record(int id) { return *g_record + id; }

int main() {
    {
        cf::ProcessPoolExecutor executor(2);
        auto ok = executor.submit(&square, 7);
        std::cout << "square(7) = " << ok.result() << '\n';
        auto bad = executor.submit(&parse_record, 42);
        try {
            bad.result();
            return EXIT_FAILURE;
        } catch (const cf::BrokenProcessPool& e) {
            std::cout << "the pool broke: " << e.what() << '\n';
            if (!e.pid() || !(e.signal_number() || e.exit_code())) return EXIT_FAILURE;
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
