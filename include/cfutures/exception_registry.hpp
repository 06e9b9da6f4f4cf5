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
/// An E that holds the exception being handled when it was made (what
/// std::throw_with_nested throws, made without a throw: a throw costs microseconds).
template <class E>
class NestedIn : public E, public std::nested_exception {
public:
    explicit NestedIn(E error) : E(std::move(error)) {}
};

/// E with the exception being handled nested in it, as an exception_ptr. Call from a
/// catch block. A final E cannot be derived from: it comes alone.
template <class E>
std::exception_ptr nest_in(E error) {
    if constexpr (std::is_class_v<E> && !std::is_final_v<E> && !std::is_base_of_v<std::nested_exception, E>) {
        return std::make_exception_ptr(NestedIn<E>(std::move(error)));
    } else {
        return std::make_exception_ptr(std::move(error));
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
