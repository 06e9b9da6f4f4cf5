#include "throw_stack.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <unwind.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "../symbolize.hpp"
#include "crash_report.hpp"

namespace cf::detail {

namespace {

/// Frames kept of a throw: the call's own are the first few (a deeper stack is the
/// worker's loop); each frame costs the unwinder about 0.1 us.
constexpr std::size_t kThrowFrames = 16;

struct ThrowStack {
    std::uintptr_t pcs[kThrowFrames];
    std::size_t count = 0;
    std::size_t skip = 0;
};

thread_local ThrowStack t_last_throw;

_Unwind_Reason_Code collect(_Unwind_Context* ctx, void* arg) {
    auto* s = static_cast<ThrowStack*>(arg);
    if (s->skip > 0) {
        --s->skip;
        return _URC_NO_REASON;
    }
    if (s->count == kThrowFrames) return _URC_END_OF_STACK;
    const std::uintptr_t ip = _Unwind_GetIP(ctx);
    if (ip == 0) return _URC_END_OF_STACK;
    s->pcs[s->count++] = ip;
    return _URC_NO_REASON;
}

using CxaThrow = void (*)(void*, std::type_info*, void (*)(void*));

CxaThrow real_cxa_throw() {
    static const auto real = reinterpret_cast<CxaThrow>(::dlsym(RTLD_NEXT, "__cxa_throw"));
    if (!real) std::abort();  // no libstdc++ behind us: cannot happen in a C++ program
    return real;
}

/// "  #0 0x... name at file:line\n" for one return address, looked up once per address.
const std::string& frame_line(std::uintptr_t pc, bool& loop) {
    static std::mutex mutex;
    struct Line {
        std::string text;
        bool loop;
    };
    static std::unordered_map<std::uintptr_t, Line> lines;
    std::lock_guard g(mutex);
    auto [it, fresh] = lines.try_emplace(pc);
    if (fresh) {
        it->second.text = describe_frame(reinterpret_cast<const void*>(pc), true);
        it->second.loop = is_worker_loop_frame(it->second.text);
    }
    loop = it->second.loop;
    return it->second.text;
}

}  // namespace

void forget_throw_stack() noexcept { t_last_throw.count = 0; }

std::string throw_stack_text() {
    ThrowStack& s = t_last_throw;
    std::string out;
    for (std::size_t i = 0; i < s.count; ++i) {
        bool loop = false;
        const std::string& line = frame_line(s.pcs[i], loop);
        if (loop) break;
        out += "  #" + std::to_string(i) + " " + line + "\n";
    }
    s.count = 0;
    return out;
}

}  // namespace cf::detail

namespace __cxxabiv1 {

extern "C" void __cxa_throw(void* object, std::type_info* type, void (*destroy)(void*)) {
    if (cf::detail::call_running()) {
        cf::detail::ThrowStack& s = cf::detail::t_last_throw;
        s.count = 0;
        s.skip = 1;  // this function
        _Unwind_Backtrace(cf::detail::collect, &s);
    }
    cf::detail::real_cxa_throw()(object, type, destroy);
    __builtin_unreachable();
}

}  // namespace __cxxabiv1
