// Starting one worker process for the pool: its socket, its launch (launcher.hpp),
// its express lane and its pidfd, each closed again if a later step fails. The pool's
// manager (process_pool.cpp) registers what it gets.
#pragma once

#include <sys/types.h>

#include <memory>

#include <cfutures/process_pool.hpp>

#include "express_lanes.hpp"
#include "launcher.hpp"
#include "stop_board.hpp"

namespace cf::detail {

struct StartedWorker {
    pid_t pid = -1;
    int sock = -1;   // the pool's end of the worker's socket, non-blocking
    int pidfd = -1;  // readable when the worker has exited
    std::shared_ptr<express::Lane> lane;  // null with max_tasks_per_child, or when none could be made
    std::unique_ptr<StopBoard> board;     // how its calls are stopped one by one (stop_board.hpp)
};

/// Launches a worker by `method`. Without max_tasks_per_child (`max_tasks` 0) it gets an
/// express lane, whose undecodable reply calls `break_pool`. Throws std::system_error
/// (and what launching throws) when the worker cannot be started.
/// `max_memory` (bytes, 0: none) is sent to the worker as its first frame after its
/// board; a worker with a limit gets no lane (its calls are watched after each one).
/// `zygote`: see launch_worker.
StartedWorker start_worker_process(StartMethod method, int max_tasks, std::size_t max_memory, int manager_wake_fd,
                                   express::Lane::BreakPool break_pool, ForkZygote* zygote);

}  // namespace cf::detail
