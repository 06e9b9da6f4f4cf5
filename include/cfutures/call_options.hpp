// cf::CallOptions: what submit() may be told about one call beyond Python's
// arguments (API.md, "Beyond Python: stopping calls").
#pragma once

#include <cfutures/detail/chrono.hpp>
#include <exception>
#include <optional>

namespace cf {

/// Options of one call, given before the callable: `ex.submit(cf::CallOptions{.timeout = 2s}, fn, args...)`.
struct CallOptions {
    /// The longest the call may run, counted from when it begins (never while it waits
    /// for a worker). When it passes, the future fails with TimeoutError at once; a
    /// process pool kills and replaces the worker, a thread pool asks the call's stop
    /// token to stop. Must be greater than zero.
    std::optional<std::chrono::nanoseconds> timeout{};
};

namespace detail {

/// Throws std::invalid_argument, naming `what` (e.g. "CallOptions::timeout"), when a
/// call timeout is given and is not greater than zero.
void check_call_timeout(const std::optional<std::chrono::nanoseconds>& timeout, const char* what);

/// The TimeoutError a call's future fails with when it ran past `limit`:
/// "the call ran longer than its limit of 700 ms".
std::exception_ptr call_timeout_error(std::chrono::nanoseconds limit);

}  // namespace detail
}  // namespace cf
