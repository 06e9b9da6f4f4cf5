// Readable type names for repr and for errors that cross process boundaries.
#pragma once

#include <exception>
#include <string>
#include <typeinfo>

namespace cf::detail {

/// The demangled name of a type ("int", "std::runtime_error").
std::string demangle(const std::type_info& type);

/// A demangled name as users write it: "std::string", not the compiler's spelling.
std::string tidy_demangled(std::string name);

/// The demangled dynamic type of the exception held by `e` ("std::out_of_range").
std::string exception_type_name(const std::exception_ptr& e);

/// `what()` of the exception held by `e`, or a placeholder for non-std exceptions.
std::string exception_message(const std::exception_ptr& e);

}  // namespace cf::detail
