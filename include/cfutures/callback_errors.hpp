// What happens to an exception that escapes a done-callback.
#pragma once

#include <exception>
#include <cfutures/detail/functional.hpp>
#include <string>

namespace cf {

/// Receives the repr of the future (`<Future at 0x... state=finished returned int>`)
/// and the exception that escaped one of its done-callbacks.
using CallbackErrorHandler = std::function<void(const std::string& future_repr, std::exception_ptr error)>;

/// Replaces the handler; an empty handler restores the default, which prints
/// `exception calling callback for <Future ...>: <type>: <what>` on stderr,
/// as Python's module logs it. Returns the previous handler.
CallbackErrorHandler set_callback_error_handler(CallbackErrorHandler handler);

}  // namespace cf
