// Turning a user's timeout (any std::chrono::duration) into a steady deadline,
// without overflowing on huge timeouts such as duration::max().
#pragma once

#include <cfutures/detail/chrono.hpp>
#include <optional>

#include <cfutures/detail/futex.hpp>

namespace cf::detail {

template <class Rep, class Period>
Clock::time_point deadline_after(std::chrono::duration<Rep, Period> timeout) noexcept {
    using namespace std::chrono;
    const auto now = Clock::now();
    // Compare in floating point so that hours::max() and friends do not overflow.
    const duration<double, std::nano> wanted = timeout;
    const duration<double, std::nano> room = Clock::time_point::max() - now;
    if (wanted >= room) return Clock::time_point::max();
    if (wanted <= duration<double, std::nano>::zero()) return now;
    return now + duration_cast<Clock::duration>(timeout);
}

inline Deadline deadline_after(const std::optional<std::chrono::nanoseconds>& timeout) noexcept {
    if (!timeout) return std::nullopt;
    return deadline_after(*timeout);
}

/// Throws TimeoutError("result() timed out after 50 ms"): `operation` waited `waited_ns`.
[[noreturn]] void throw_timeout(const char* operation, double waited_ns);

template <class Rep, class Period>
[[noreturn]] void throw_timeout(const char* operation, std::chrono::duration<Rep, Period> waited) {
    throw_timeout(operation, std::chrono::duration<double, std::nano>(waited).count());
}

}  // namespace cf::detail
