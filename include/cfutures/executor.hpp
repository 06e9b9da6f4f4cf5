// cf::Executor: the abstract base every executor derives from, and the
// options of map(). submit() and map() are templates on each executor.
#pragma once

#include <cfutures/detail/chrono.hpp>
#include <cstddef>
#include <optional>

#include <cfutures/call_options.hpp>

namespace cf {

/// Python's map(..., timeout=, chunksize=, buffersize=) keywords.
struct MapOptions {
    /// Results not ready this long after the map() call raise TimeoutError; none: wait forever.
    std::optional<std::chrono::nanoseconds> timeout{};
    /// Calls sent to a worker together (process-based executors; threads ignore it, as in Python).
    std::size_t chunksize = 1;
    /// Consume the inputs lazily, with at most this many calls (or chunks) in flight.
    std::optional<std::size_t> buffersize{};
    /// The longest each call may run (CallOptions::timeout); a chunk of n calls may run
    /// n times as long. Must be greater than zero.
    std::optional<std::chrono::nanoseconds> call_timeout{};
};

/// Python's Executor: something that runs calls asynchronously.
class Executor {
public:
    Executor() = default;
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;
    /// Concrete executors call shutdown(true) in their destructor: the `with` block.
    virtual ~Executor() = default;

    /// Stops taking calls. With `wait`, returns when every pending call has run and the
    /// workers are gone; with `cancel_futures`, cancels the calls not yet started.
    /// Idempotent, callable from any thread, including from inside a task.
    virtual void shutdown(bool wait = true, bool cancel_futures = false) = 0;
};

}  // namespace cf
