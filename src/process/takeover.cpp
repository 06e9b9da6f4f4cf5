// The takeover before main: how a re-started program (Spawn, ForkServer) becomes
// a worker or a fork server, and the role variable (CFUTURES_ROLE) the launcher
// sets for it, which cf::is_worker_process() also reads.
//
// A file of its own because it runs before main, from a static constructor, in
// every program that links the process pool: what it may touch is not what the
// worker loop may. cfutures is a static library, and a member whose only entry
// is a constructor is dropped by the linker; mark_worker_process() (called by
// the worker loop) and is_worker_process() live here to keep it linked.
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cfutures/start_method.hpp>

#include "launcher.hpp"
#include "takeover.hpp"

namespace cf {

namespace {
bool g_is_worker = false;  // set once this process has become a worker (or fork server)

/// Whether the launcher started this program as a worker or fork server: what the
/// program's static initializers, which run before the takeover, can go by.
bool started_as_worker() noexcept {
    const char* role = std::getenv("CFUTURES_ROLE");
    return role && (std::strncmp(role, "worker:", 7) == 0 || std::strncmp(role, "forkserver:", 11) == 0);
}
}  // namespace

bool is_worker_process() noexcept { return g_is_worker || started_as_worker(); }

namespace detail {

void mark_worker_process() noexcept { g_is_worker = true; }

namespace {

/// Takes over a re-started program before main: CFUTURES_ROLE=worker:<fd>:<max_tasks>:<ppid>
/// or forkserver:<fd>:0:<ppid>. Runs after the program's own static initializers,
/// because the library is linked after the program's object files.
__attribute__((constructor)) void become_worker_if_asked() {
    const char* role = std::getenv("CFUTURES_ROLE");
    if (!role) return;
    char kind[16] = {};
    int fd = -1;
    int max_tasks = 0;
    long ppid = 0;
    if (std::sscanf(role, "%15[a-z]:%d:%d:%ld", kind, &fd, &max_tasks, &ppid) != 4) return;
    ::unsetenv("CFUTURES_ROLE");
    g_is_worker = true;
    // Die with the program: our parent is its launcher thread, which lives as long as it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != static_cast<pid_t>(ppid)) ::_exit(0);
    if (std::strcmp(kind, "forkserver") == 0) run_fork_server(fd, /*forked_from_the_program=*/false);
    run_worker(fd, max_tasks, /*forked_from_the_program=*/false);
}

}  // namespace
}  // namespace detail
}  // namespace cf
