// The messages of cfutures' errors that are built from figures.
#include <cfutures/call_options.hpp>
#include <cfutures/detail/deadline.hpp>
#include <cfutures/errors.hpp>

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace cf::detail {

namespace {
/// "50 ms", "1.5 s", "250 us", "0 ms": the unit that keeps the figure readable.
std::string describe_duration(double ns) {
    if (!(ns > 0)) return "0 ms";
    struct Unit {
        double ns;
        const char* name;
    };
    static constexpr Unit units[] = {{3600e9, "h"}, {1e9, "s"}, {1e6, "ms"}, {1e3, "us"}, {1, "ns"}};
    for (const Unit& u : units) {
        if (ns >= u.ns || u.ns == 1) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.4g %s", ns / u.ns, u.name);
            return buf;
        }
    }
    return {};
}
}  // namespace

void throw_timeout(const char* operation, double waited_ns) {
    if (std::isinf(waited_ns) || waited_ns > 1e24) throw TimeoutError(std::string(operation) + " timed out");
    throw TimeoutError(std::string(operation) + " timed out after " + describe_duration(waited_ns));
}

void check_call_timeout(const std::optional<std::chrono::nanoseconds>& timeout, const char* what) {
    if (timeout && timeout->count() <= 0)
        throw std::invalid_argument(std::string(what) + " must be greater than zero, got " +
                                    std::to_string(timeout->count()) + " ns");
}

std::exception_ptr call_timeout_error(std::chrono::nanoseconds limit) {
    return std::make_exception_ptr(TimeoutError("the call ran longer than its limit of " +
                                                describe_duration(static_cast<double>(limit.count()))));
}

}  // namespace cf::detail
