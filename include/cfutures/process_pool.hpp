// cf::ProcessPoolExecutor: Python's ProcessPoolExecutor — calls run in worker
// processes, so a call that crashes breaks the pool (BrokenProcessPool)
// instead of the program. The data flow is drawn in docs/design.md.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <cfutures/detail/remote_call.hpp>
#include <cfutures/detail/remote_executor.hpp>
#include <cfutures/exception_registry.hpp>
#include <cfutures/executor.hpp>
#include <cfutures/future.hpp>
#include <cfutures/map_result.hpp>
#include <cfutures/remote_initializer.hpp>
#include <cfutures/start_method.hpp>

namespace cf {

/// Python's ProcessPoolExecutor(max_workers, mp_context, initializer, max_tasks_per_child) keywords.
struct ProcessPoolOptions {
    /// Default: the number of hardware threads.
    std::optional<int> max_workers;
    /// How workers start (Python's mp_context); ForkServer, as Python 3.14 on Linux.
    StartMethod start_method = StartMethod::ForkServer;
    /// Runs first in each worker; if it throws, the pool breaks (BrokenProcessPool).
    RemoteInitializer initializer;
    /// A worker is replaced after this many calls. Incompatible with Fork.
    std::optional<int> max_tasks_per_child;
    /// A worker whose resident memory exceeds this many bytes after a call is replaced
    /// (the call's result is kept; calls it had not begun go to another worker).
    /// Incompatible with Fork.
    std::optional<std::size_t> max_memory_per_child{};
};

namespace detail {

/// The manager of a process pool. Defined in src/process/process_pool_core.hpp.
class ProcessPoolCore;

/// Queues an encoded call whose reply `decode` turns into `state`'s result (taking over
/// one reference to `state`), that may run `timeout` at most (zero: no limit). Throws,
/// after releasing it, when the pool takes no more work.
void remote_submit(ProcessPoolCore& core, StateBase* state, std::string call, ReplyDecoder decode,
                   std::chrono::nanoseconds timeout);
/// A process pool stops a running call by killing its worker: request_stop() ends it.
constexpr RemoteStop remote_stop_of(const ProcessPoolCore*) noexcept { return RemoteStop::by_kill; }

}  // namespace detail

/// A pool of worker processes that run submitted calls; see Python's ProcessPoolExecutor.
/// submit() and map() (from detail::RemoteExecutor) take a function pointer, a lambda
/// without captures or a serializable callable, and serializable arguments; they throw
/// BrokenProcessPool once the pool is broken.
class ProcessPoolExecutor : public detail::RemoteExecutor<detail::ProcessPoolCore> {
public:
    /// max_workers = hardware threads, ForkServer.
    ProcessPoolExecutor();
    /// Throws std::invalid_argument when max_workers <= 0.
    explicit ProcessPoolExecutor(int max_workers);
    /// Throws std::invalid_argument for max_workers <= 0, max_tasks_per_child < 1,
    /// or max_tasks_per_child with Fork.
    explicit ProcessPoolExecutor(ProcessPoolOptions options);
    /// shutdown(true).
    ~ProcessPoolExecutor() override;

    /// See Executor::shutdown; with `wait`, the workers have exited when it returns.
    void shutdown(bool wait = true, bool cancel_futures = false) override;

    /// SIGTERM every worker (and SIGCONT, so that a stopped one gets it), then
    /// shutdown(wait=false, cancel_futures=true): the calls they were running fail with
    /// BrokenProcessPool. A worker whose code blocks or ignores SIGTERM lives on, and
    /// the destructor waits for it: use kill_workers() for those.
    void terminate_workers();
    /// As terminate_workers(), with SIGKILL.
    void kill_workers();

    /// The most worker processes the pool runs at once.
    [[nodiscard]] int max_workers() const noexcept;
    /// The pids of the worker processes serving the pool now: a worker killed to stop a
    /// call (a timeout, request_stop()) has left this list when the kill is sent, though
    /// its process may take a while to end and be reaped.
    [[nodiscard]] std::vector<pid_t> worker_pids() const;
};

}  // namespace cf
