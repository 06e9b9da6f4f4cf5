#include <cfutures/callback_errors.hpp>

#include <cstdio>
#include <mutex>

#include <cfutures/detail/shared_state.hpp>
#include <cfutures/detail/type_name.hpp>

namespace cf {

namespace {
std::mutex& handler_mutex() {
    static std::mutex m;
    return m;
}
CallbackErrorHandler& handler_slot() {
    static CallbackErrorHandler h;
    return h;
}
}  // namespace

CallbackErrorHandler set_callback_error_handler(CallbackErrorHandler handler) {
    std::lock_guard g(handler_mutex());
    std::swap(handler_slot(), handler);
    return handler;
}

namespace detail {

void report_callback_error(const StateBase& state, std::exception_ptr error) noexcept {
    try {
        CallbackErrorHandler h;
        {
            std::lock_guard g(handler_mutex());
            h = handler_slot();
        }
        const std::string repr = state.repr();
        if (h) {
            h(repr, error);
            return;
        }
        std::fprintf(stderr, "exception calling callback for %s: %s: %s\n", repr.c_str(),
                     exception_type_name(error).c_str(), exception_message(error).c_str());
    } catch (...) {
        std::fputs("exception calling callback for a future (and the report failed too)\n", stderr);
    }
}

}  // namespace detail
}  // namespace cf
