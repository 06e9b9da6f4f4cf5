// libdw looks addresses up in the modules this process has mapped
// (dwfl_linux_proc_report reads /proc/self/maps). The Dwfl is built once per
// process and kept: reading a module's symbol table and line table is the
// cost (milliseconds), a lookup after that is microseconds. A module mapped
// later (dlopen) is found by reporting the maps again.
#include "symbolize.hpp"

#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include <cfutures/detail/type_name.hpp>

namespace cf::detail {

namespace {

class Symbolizer {
public:
    std::mutex mutex;

    /// The module holding `address`, reporting this process's maps again when none does.
    Dwfl_Module* module_of(Dwarf_Addr address) {
        if (!dwfl_ || owner_ != ::getpid()) report();  // a forked child has its own maps
        if (!dwfl_) return nullptr;
        Dwfl_Module* mod = dwfl_addrmodule(dwfl_, address);
        if (!mod) {
            report();
            if (dwfl_) mod = dwfl_addrmodule(dwfl_, address);
        }
        return mod;
    }

private:
    void report() {
        if (dwfl_) dwfl_end(dwfl_);
        dwfl_ = dwfl_begin(&callbacks_);
        owner_ = ::getpid();
        if (!dwfl_) return;
        if (dwfl_linux_proc_report(dwfl_, owner_) != 0 || dwfl_report_end(dwfl_, nullptr, nullptr) != 0) {
            dwfl_end(dwfl_);
            dwfl_ = nullptr;
        }
    }

    char* debuginfo_path_ = nullptr;
    Dwfl_Callbacks callbacks_{dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo, nullptr, &debuginfo_path_};
    Dwfl* dwfl_ = nullptr;
    pid_t owner_ = 0;
};

Symbolizer& symbolizer() {
    static auto* s = new Symbolizer;  // never destroyed: late threads and workers may still ask
    return *s;
}

std::string demangled(const char* symbol) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(symbol, nullptr, nullptr, &status), std::free);
    return status == 0 && name ? tidy_demangled(name.get()) : std::string(symbol);
}

std::string symbol_at(Dwfl_Module* mod, Dwarf_Addr address) {
    GElf_Off offset = 0;
    GElf_Sym sym;
    const char* name = dwfl_module_addrinfo(mod, address, &offset, &sym, nullptr, nullptr, nullptr);
    return name ? demangled(name) : std::string();
}

std::string hex(std::uintptr_t v) {
    char buf[2 + 16 + 1];
    std::snprintf(buf, sizeof buf, "0x%zx", static_cast<std::size_t>(v));
    return buf;
}

}  // namespace

std::string function_name(const void* code) {
    auto& s = symbolizer();
    std::lock_guard g(s.mutex);
    const auto address = reinterpret_cast<Dwarf_Addr>(code);
    Dwfl_Module* mod = s.module_of(address);
    return mod ? symbol_at(mod, address) : std::string();
}

std::string describe_frame(const void* pc, bool return_address) {
    auto& s = symbolizer();
    std::lock_guard g(s.mutex);
    // A return address may be the first byte of the next function (a call that never
    // returns ends one): the call itself is one byte before.
    const auto address = reinterpret_cast<Dwarf_Addr>(pc) - (return_address ? 1 : 0);
    Dwfl_Module* mod = s.module_of(address);
    if (!mod) return "??";
    std::string out = symbol_at(mod, address);
    if (out.empty()) {
        const char* module_name = dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
        Dwarf_Addr start = 0;
        dwfl_module_info(mod, nullptr, &start, nullptr, nullptr, nullptr, nullptr, nullptr);
        out = std::string("?? in ") + (module_name ? module_name : "?") + "+" + hex(address - start);
    }
    if (Dwfl_Line* line = dwfl_module_getsrc(mod, address)) {
        int lineno = 0;
        if (const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr); file && lineno > 0)
            out += " at " + std::string(file) + ":" + std::to_string(lineno);
    }
    return out;
}

std::string describe_stack(const void* const* pcs, std::size_t count, bool first_is_pc) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
        out += "  #" + std::to_string(i) + " " + hex(reinterpret_cast<std::uintptr_t>(pcs[i])) + " " +
               describe_frame(pcs[i], !(first_is_pc && i == 0)) + "\n";
    }
    return out;
}

}  // namespace cf::detail
