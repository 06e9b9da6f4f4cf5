// Shows a program of your own built against an installed cfutures, with CMake's
// find_package or with pkg-config (README, "Installing"): a thread pool and a
// process pool each compute a square.
#include <cfutures/cfutures.hpp>

#include <cstdio>

int square(int x) { return x * x; }

int main() {
    cf::ThreadPoolExecutor threads(2);
    cf::ProcessPoolExecutor processes(cf::ProcessPoolOptions{.max_workers = 1});
    const int a = threads.submit(&square, 6).result();
    const int b = processes.submit(&square, 7).result();
    std::printf("cfutures %s: 6 * 6 = %d in a thread, 7 * 7 = %d in a worker process\n", CFUTURES_VERSION, a, b);
    return a == 36 && b == 49 ? 0 : 1;
}
