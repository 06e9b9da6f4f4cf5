// The stack at a throw in a worker's call. C++ exceptions carry no stack, and
// by the time the worker catches one the frames that threw are gone; so the
// library defines __cxa_throw (it comes before libstdc++ in the link, which
// makes it the program's; it then calls libstdc++'s own) and, while a call
// runs in a worker, records the return addresses of the throwing thread.
// Only the stack of a `throw` expression is captured this way: a rethrow, a
// std::rethrow_exception, or a throw inside a library linked with its own
// binding of __cxa_throw records nothing: the traceback then shows the latest
// `throw` this thread ran during the call, or no frames if it ran none.
#pragma once

#include <string>

namespace cf::detail {

/// The frames of the latest throw on this thread during the running call, one a line
/// ("  #0 0x... thrower(int) at file.cpp:12\n"), down to the call's invoker; "" if none.
std::string throw_stack_text();

/// Drops what this thread's latest throw recorded.
void forget_throw_stack() noexcept;

}  // namespace cf::detail
