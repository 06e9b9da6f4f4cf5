// Naming a function across processes. A worker started with Spawn or
// ForkServer runs the same program, but loaded at other addresses (ASLR):
// a function is sent as (loaded module index, offset in that module).
#pragma once

#include <cstdint>
#include <type_traits>

namespace cf::detail {

struct CodeRef {
    std::uint32_t module = 0;
    std::uint64_t offset = 0;

    template <class Archive>
    void serialize(Archive& a) {
        a(module, offset);
    }
};

/// The portable name of the code at `address`; throws std::invalid_argument if no module holds it.
CodeRef code_ref_of(const void* address);
/// The address, in this process, of the code `ref` names; throws std::runtime_error if unknown.
const void* code_address(const CodeRef& ref);

template <class F>
    requires std::is_function_v<F>
CodeRef code_ref_of(F* fn) {
    return code_ref_of(reinterpret_cast<const void*>(fn));
}
template <class F>
    requires std::is_function_v<F>
F* code_from_ref(const CodeRef& ref) {
    return reinterpret_cast<F*>(const_cast<void*>(code_address(ref)));
}

}  // namespace cf::detail
