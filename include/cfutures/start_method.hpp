// How a ProcessPoolExecutor starts its workers.
#pragma once

namespace cf {

/// How a ProcessPoolExecutor starts its workers (Python's multiprocessing contexts).
enum class StartMethod {
    /// fork() the program as it is: fast, and the worker sees the parent's memory;
    /// unsafe when the parent has other threads holding locks (as in Python).
    Fork,
    /// Start the program again (/proc/self/exe); the library takes over before main.
    Spawn,
    /// Start one clean server process (as Spawn), and fork each worker from it.
    /// The default, as in Python 3.14 on Linux.
    ForkServer,
};

/// True in a worker process (or a fork server) of a ProcessPoolExecutor. A worker
/// never runs main, but it does run the program's static initializers (Spawn,
/// ForkServer): guard static-initialization side effects with this if needed.
bool is_worker_process() noexcept;

}  // namespace cf
