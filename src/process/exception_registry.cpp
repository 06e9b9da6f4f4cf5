#include <cfutures/exception_registry.hpp>

#include <functional>
#include <future>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <typeinfo>
#include <unordered_map>
#include <variant>

#include <cfutures/errors.hpp>

namespace cf::detail {

namespace {
struct Registry {
    std::mutex mutex;
    std::unordered_map<std::string, ExceptionFactory> factories;

    Registry() {
        with_message<std::exception>();  // what() is implementation-defined: rebuilt as is
        with_message<std::logic_error>();
        with_message<std::invalid_argument>();
        with_message<std::domain_error>();
        with_message<std::length_error>();
        with_message<std::out_of_range>();
        with_message<std::runtime_error>();
        with_message<std::range_error>();
        with_message<std::overflow_error>();
        with_message<std::underflow_error>();
        fixed<std::bad_alloc>();
        fixed<std::bad_array_new_length>();
        fixed<std::bad_cast>();
        fixed<std::bad_typeid>();
        fixed<std::bad_exception>();
        fixed<std::bad_function_call>();
        fixed<std::bad_optional_access>();
        fixed<std::bad_variant_access>();
        fixed<std::bad_weak_ptr>();
        with_message<cf::Error>();
        with_message<cf::CancelledError>();
        with_message<cf::TimeoutError>();
        with_message<cf::InvalidStateError>();
        with_message<cf::BrokenExecutor>();
        with_message<cf::BrokenThreadPool>();
        with_message<cf::BrokenProcessPool>();
        with_message<cf::ShutdownError>();
        with_message<cf::RemoteTraceback>();
    }

    template <class E>
    void with_message() {
        if constexpr (std::is_same_v<E, std::exception>) {
            factories[demangle(typeid(E))] = [](const std::string&) { return nest_in(std::exception()); };
        } else {
            factories[demangle(typeid(E))] = [](const std::string& w) { return nest_in(E(w)); };
        }
    }
    /// Types whose what() is fixed by the library: a default-constructed one says the same.
    template <class E>
    void fixed() {
        factories[demangle(typeid(E))] = [](const std::string&) { return nest_in(E()); };
    }
};

Registry& registry() {
    static Registry* r = new Registry;  // never destroyed: workers and late threads may still look up
    return *r;
}
}  // namespace

void register_exception_factory(const std::type_info& type, ExceptionFactory factory) {
    auto& r = registry();
    std::lock_guard g(r.mutex);
    r.factories[demangle(type)] = factory;
}

std::exception_ptr rebuild_exception(const std::string& type_name, const std::string& what,
                                     const std::string& traceback) {
    auto& r = registry();
    ExceptionFactory f = nullptr;
    {
        std::lock_guard g(r.mutex);
        auto it = r.factories.find(type_name);
        if (it != r.factories.end()) f = it->second;
    }
    // The traceback goes in as the exception being handled: the factory nests it (Python's
    // __cause__), with std::throw_with_nested.
    try {
        throw RemoteTraceback(traceback);
    } catch (const RemoteTraceback&) {
        if (f) return f(what);
        return nest_in(RemoteError(type_name, what, traceback));
    }
}

}  // namespace cf::detail
