// Starting worker processes with each start method.
//
// Every process the pool starts is started from one long-lived "launcher"
// thread, because a child's PR_SET_PDEATHSIG fires when the *thread* that
// created it exits: started from the launcher, which lives as long as the
// program, workers and the fork server die with the program and not before.
#pragma once

#include <sys/types.h>

#include <cfutures/start_method.hpp>

namespace cf::detail {

class ForkZygote;

/// Starts a worker that serves calls on `worker_fd` (the child's end of a
/// socketpair; the caller closes its copy afterwards); `pool_fd`, the pool's end, is
/// closed in a forked worker (it must not hold, nor write into, its pool's end of its own
/// socket). `max_tasks` 0 means no limit. Returns the worker's pid, a child of this
/// process. Throws std::system_error.
/// `zygote`: a Fork pool's later workers are forked by it (ForkZygote), not by this process.
pid_t launch_worker(StartMethod method, int worker_fd, int pool_fd, int max_tasks, ForkZygote* zygote = nullptr);

/// A process forked from the program with a Fork pool's first workers, which forks the
/// pool's later ones (the replacements of workers killed to stop a call). They get the
/// program as it was when the pool started, as the first ones did, and they are never
/// forked from the program once its threads run: a child of a threaded fork can block
/// on a lock another thread held at the fork (user code's, stdio's; GCC 12's ASan and
/// TSan allocators do not even guard their own: the likely cause of a CI run under TSan
/// where a Fork pool's futures never ended). One per Fork pool, from its first submit.
class ForkZygote {
public:
    /// Forks it, from the launcher thread; throws std::system_error.
    ForkZygote();
    /// Ends it (SIGKILL: it holds nothing) and reaps it.
    ~ForkZygote();
    ForkZygote(const ForkZygote&) = delete;
    ForkZygote& operator=(const ForkZygote&) = delete;

    /// A worker on `worker_fd`, a child of this process (CLONE_PARENT); throws
    /// std::runtime_error when the zygote does not answer (someone killed it).
    pid_t fork_worker(int worker_fd);

private:
    int control_ = -1;
    pid_t pid_ = -1;
};

/// The worker's main loop (also the body of a forked worker). Never returns.
/// `forked_from_the_program`: forked by the Fork start method from a program that may
/// have threads (rather than exec'd, or forked by the single-threaded fork server).
[[noreturn]] void run_worker(int fd, int max_tasks, bool forked_from_the_program) noexcept;

/// The fork server's loop (launcher.cpp): forks a worker for each request on
/// `control_fd` until the program is gone. Never returns. `forked_from_the_program`: the
/// server is a Fork pool's zygote (its workers are told so, see run_worker), not a
/// process exec'd for the ForkServer start method.
[[noreturn]] void run_fork_server(int control_fd, bool forked_from_the_program) noexcept;

}  // namespace cf::detail
