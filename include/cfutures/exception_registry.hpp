// Exceptions thrown in a worker process come back as the same type when the
// parent knows how to rebuild it: the standard hierarchy, cfutures' errors,
// and the types registered here. Anything else becomes cf::RemoteError.
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <typeinfo>

#include <cfutures/detail/type_name.hpp>

namespace cf {

/// Builds the exception from the worker's `what()`.
using ExceptionFactory = std::exception_ptr (*)(const std::string& what);

namespace detail {
void register_exception_factory(const std::type_info& type, ExceptionFactory factory);
/// The exception a worker reported, rebuilt (or a cf::RemoteError).
std::exception_ptr rebuild_exception(const std::string& type_name, const std::string& what,
                                     const std::string& traceback);
}  // namespace detail

/// Lets exceptions of type E thrown in a worker come back as E. E must be
/// constructible from a std::string (its what()). Call it during static
/// initialization, so every worker, being the same program, has it too:
///     static const bool registered = cf::register_exception<MyError>();
template <class E>
    requires std::is_constructible_v<E, std::string>
bool register_exception() {
    detail::register_exception_factory(typeid(E), [](const std::string& what) {
        return std::make_exception_ptr(E(what));
    });
    return true;
}

}  // namespace cf
