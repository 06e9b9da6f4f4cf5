// A program whose static initializer prints a line unless it runs in a worker process:
// run with a start method's name, it makes one call on a pool started that way. The line
// must appear once (the program's), as cf::is_worker_process() is true from a worker's
// first static initializer on (README, "the one rule").
#include <cstdio>
#include <cstring>

#include <cfutures/cfutures.hpp>

namespace {

const bool g_announced = [] {
    if (!cf::is_worker_process()) std::printf("the program's static initializer ran\n");
    std::fflush(stdout);
    return true;
}();

int twice(int x) { return 2 * x; }

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    cf::StartMethod method = cf::StartMethod::ForkServer;
    if (std::strcmp(argv[1], "spawn") == 0) method = cf::StartMethod::Spawn;
    if (std::strcmp(argv[1], "fork") == 0) method = cf::StartMethod::Fork;
    cf::ProcessPoolOptions options;
    options.max_workers = 2;
    options.start_method = method;
    cf::ProcessPoolExecutor ex(options);
    const bool ok = ex.submit(&twice, 21).result() == 42 && g_announced;
    return ok ? 0 : 1;
}
