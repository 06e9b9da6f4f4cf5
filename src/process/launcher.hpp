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

/// Starts a worker that serves calls on `worker_fd` (the child's end of a
/// socketpair; the caller closes its copy afterwards); `pool_fd`, the pool's end, is
/// closed in a forked worker (it must not hold, nor write into, its pool's end of its own
/// socket). `max_tasks` 0 means no limit. Returns the worker's pid, a child of this
/// process. Throws std::system_error.
pid_t launch_worker(StartMethod method, int worker_fd, int pool_fd, int max_tasks);

/// The worker's main loop (also the body of a forked worker). Never returns.
/// `forked_from_the_program`: forked by the Fork start method from a program that may
/// have threads (rather than exec'd, or forked by the single-threaded fork server).
[[noreturn]] void run_worker(int fd, int max_tasks, bool forked_from_the_program) noexcept;

/// The fork server's loop (launcher.cpp): forks a worker for each request on
/// `control_fd` until the program is gone. Never returns.
void run_fork_server(int control_fd) noexcept;

}  // namespace cf::detail
