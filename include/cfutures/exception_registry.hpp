// Exceptions thrown in a worker process come back as the same type when the
// parent knows how to rebuild it: the standard hierarchy, cfutures' errors,
// and the types registered here. Anything else becomes cf::RemoteError.
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <typeinfo>

#include <cfutures/detail/type_name.hpp>

namespace cf {

/// Builds the exception from the worker's `what()`, with the exception being handled
/// (the cf::RemoteTraceback) nested in it.
using ExceptionFactory = std::exception_ptr (*)(const std::string& what);

namespace detail {
/// E, thrown with the exception being handled nested in it (std::throw_with_nested), as
/// an exception_ptr. Call from a catch block.
template <class E>
std::exception_ptr nest_in(E error) {
    try {
        std::throw_with_nested(std::move(error));
    } catch (...) {
        return std::current_exception();
    }
}

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
    detail::register_exception_factory(typeid(E), [](const std::string& what) { return detail::nest_in(E(what)); });
    return true;
}

}  // namespace cf
