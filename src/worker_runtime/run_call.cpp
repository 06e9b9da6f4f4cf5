// See run_call.hpp: running an encoded call and describing what it raised, for
// either backend's worker.
#include "run_call.hpp"

#include <unistd.h>

#include <mutex>
#include <unordered_map>

#include <cfutures/detail/remote_call.hpp>
#include <cfutures/detail/type_name.hpp>

#include "../process/throw_stack.hpp"
#include "../symbolize.hpp"

namespace cf::detail {

namespace {

/// The name of the function a call runs, looked up once per function: a worker that
/// throws from the same function again pays a hash lookup, not a symbol-table search.
std::string name_of_call(const CallName& call) {
    if (!call.code) return call.callable ? demangle(*call.callable) : std::string("an unknown callable");
    static std::mutex mutex;
    static std::unordered_map<const void*, std::string> names;
    std::lock_guard g(mutex);
    auto [it, fresh] = names.try_emplace(call.code);
    if (fresh) {
        it->second = function_name(call.code);
        if (it->second.empty()) it->second = "a function of type " + demangle(*call.callable);  // no symbol: stripped
    }
    return it->second;
}

}  // namespace

RaisedInfo describe_current_exception(const CallName& call) {
    const auto e = std::current_exception();
    RaisedInfo info{exception_type_name(e), exception_message(e), {}};
    info.traceback = "Traceback (worker process " + std::to_string(::getpid()) + ", in a call of " + name_of_call(call) +
                     " with arguments " + (call.arguments ? call.arguments() : std::string("(?)")) + "):\n" +
                     throw_stack_text() + info.type_name + ": " + info.what + "\n";
    return info;
}

void run_encoded_call(std::string_view call, std::string& reply) {
    Decoder d(call);
    CodeRef ref;
    d(ref);
    auto* invoke = code_from_ref<void(Decoder&, std::string&)>(ref);
    invoke(d, reply);
}

std::string describe_exception(const std::exception_ptr& e) {
    return exception_type_name(e) + ": " + exception_message(e);
}

}  // namespace cf::detail
