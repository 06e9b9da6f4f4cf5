#include <cfutures/detail/type_name.hpp>

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace cf::detail {

std::string demangle(const std::type_info& type) {
    if (type == typeid(void)) return "void";
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
    return tidy_demangled((status == 0 && name) ? std::string(name.get()) : std::string(type.name()));
}

std::string tidy_demangled(std::string out) {
    // Spell the standard library's inline namespace the way users write it.
    for (const std::string inline_ns : {"std::__cxx11::", "std::__1::"}) {
        for (auto pos = out.find(inline_ns); pos != std::string::npos; pos = out.find(inline_ns, pos)) {
            out.replace(pos, inline_ns.size(), "std::");
        }
    }
    // And std::string as users write it, not as the compiler spells it.
    const std::string long_string = "std::basic_string<char, std::char_traits<char>, std::allocator<char> >";
    for (auto pos = out.find(long_string); pos != std::string::npos; pos = out.find(long_string, pos)) {
        out.replace(pos, long_string.size(), "std::string");
    }
    return out;
}

std::string exception_type_name(const std::exception_ptr& e) {
    if (!e) return "none";
    try {
        std::rethrow_exception(e);
    } catch (...) {
        const std::type_info* type = abi::__cxa_current_exception_type();
        return type ? demangle(*type) : std::string("unknown");
    }
}

std::string exception_message(const std::exception_ptr& e) {
    if (!e) return {};
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "(an exception not derived from std::exception)";
    }
}

}  // namespace cf::detail
