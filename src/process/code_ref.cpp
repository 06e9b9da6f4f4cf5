// Module-relative code addresses, via dl_iterate_phdr. Modules are numbered in
// load order, which is the same in every process of the same program (the
// main program first, then its DT_NEEDED libraries).
#include <cfutures/detail/code_ref.hpp>

#include <link.h>

#include <stdexcept>
#include <string>

namespace cf::detail {

namespace {
struct Lookup {
    std::uintptr_t address = 0;
    std::uint32_t index = 0;
    bool found = false;
    CodeRef ref{};
};

int find_module(dl_phdr_info* info, std::size_t, void* data) {
    auto* q = static_cast<Lookup*>(data);
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD) continue;
        const std::uintptr_t start = info->dlpi_addr + ph.p_vaddr;
        if (q->address >= start && q->address < start + ph.p_memsz) {
            q->ref = CodeRef{q->index, q->address - info->dlpi_addr};
            q->found = true;
            return 1;
        }
    }
    ++q->index;
    return 0;
}

struct BaseLookup {
    std::uint32_t wanted = 0;
    std::uint32_t index = 0;
    bool found = false;
    std::uintptr_t base = 0;
};

int find_base(dl_phdr_info* info, std::size_t, void* data) {
    auto* q = static_cast<BaseLookup*>(data);
    if (q->index++ == q->wanted) {
        q->base = info->dlpi_addr;
        q->found = true;
        return 1;
    }
    return 0;
}
}  // namespace

CodeRef code_ref_of(const void* address) {
    Lookup q;
    q.address = reinterpret_cast<std::uintptr_t>(address);
    dl_iterate_phdr(find_module, &q);
    if (!q.found) throw std::invalid_argument("cfutures: this function is not in any loaded module and cannot be called in another process");
    return q.ref;
}

const void* code_address(const CodeRef& ref) {
    BaseLookup q;
    q.wanted = ref.module;
    dl_iterate_phdr(find_base, &q);
    if (!q.found) throw std::runtime_error("cfutures: the worker has no module #" + std::to_string(ref.module) + " to run a call from");
    return reinterpret_cast<const void*>(q.base + ref.offset);
}

}  // namespace cf::detail
