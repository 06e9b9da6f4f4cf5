// throw_errno: the one way the library's POSIX calls report a failure that the
// caller must see (a socketpair, fork, memfd or eventfd that could not be made).
// A header of its own so that each file that makes such calls does not carry a
// copy; internal (src/), never installed.
#pragma once

#include <cerrno>
#include <system_error>

namespace cf::detail {

/// Throws std::system_error for the current errno, with `what` naming the call.
[[noreturn]] inline void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace cf::detail
