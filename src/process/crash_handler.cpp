// The worker's side of crash reports (crash_report.hpp): the fatal-signal handler,
// the exit hook, and the marks of the running call.
#include <link.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <typeinfo>

#include <cfutures/detail/remote_call.hpp>

#include "../worker_runtime/reply_courier.hpp"
#include "crash_report.hpp"
#include "crash_report_format.hpp"
#include "throw_stack.hpp"
#include "wire.hpp"

namespace cf::detail {

namespace {

using namespace crash;

std::atomic<const void*> g_running_code{nullptr};
std::atomic<const std::type_info*> g_running_type{nullptr};
static_assert(std::atomic<const void*>::is_always_lock_free);

/// The modules' address ranges, taken when the reporter is installed, for the handler to
/// turn addresses into (module, offset) as code_ref_of does, without dl_iterate_phdr.
struct ModuleRange {
    std::uintptr_t start, end, base;
};
constexpr std::size_t kMaxModules = 256;
ModuleRange g_modules[kMaxModules];
std::size_t g_module_count = 0;

int note_module(dl_phdr_info* info, std::size_t, void*) {
    if (g_module_count == kMaxModules) return 1;
    ModuleRange r{~std::uintptr_t{0}, 0, info->dlpi_addr};
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD) continue;
        r.start = std::min<std::uintptr_t>(r.start, info->dlpi_addr + ph.p_vaddr);
        r.end = std::max<std::uintptr_t>(r.end, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
    }
    g_modules[g_module_count++] = r;  // one entry per module, so indexes match CodeRef's
    return 0;
}

ReportFrame frame_of(std::uintptr_t pc) noexcept {
    for (std::size_t i = 0; i < g_module_count; ++i) {
        if (pc >= g_modules[i].start && pc < g_modules[i].end)
            return {static_cast<std::uint32_t>(i), 0, pc - g_modules[i].base};
    }
    return {kNoModule, 0, pc};
}

int g_report_fd = -1;

// The report is built here, not on the (alternate, small) stack.
alignas(16) char g_report[sizeof(wire::Header) + sizeof(ReportHeader) + kCrashMaxTypeName +
                          kCrashMaxFrames * sizeof(ReportFrame)];

struct Unwound {
    std::uintptr_t pcs[kCrashMaxFrames + 8];
    std::size_t count = 0;
};

_Unwind_Reason_Code collect(_Unwind_Context* ctx, void* arg) {
    auto* u = static_cast<Unwound*>(arg);
    if (u->count == sizeof u->pcs / sizeof u->pcs[0]) return _URC_END_OF_STACK;
    int before = 0;
    const std::uintptr_t ip = _Unwind_GetIPInfo(ctx, &before);
    if (ip == 0) return _URC_END_OF_STACK;
    u->pcs[u->count++] = ip;
    return _URC_NO_REASON;
}

void write_all(int fd, const char* p, std::size_t n) noexcept {
    while (n > 0) {
        const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

/// Writes the report of the running call: `pcs` from `first` on are its stack.
void send_report(int sig, int exit_code, const Unwound& u, std::size_t first) noexcept {
    if (g_report_fd < 0) return;
    const void* code = g_running_code.load(std::memory_order_relaxed);
    const std::type_info* type = g_running_type.load(std::memory_order_relaxed);
    ReportHeader h{kMagic, kVersion, 0, sig, exit_code, kNoModule, 0, 0};
    if (code) {
        const ReportFrame f = frame_of(reinterpret_cast<std::uintptr_t>(code));
        h.code_module = f.module;
        h.code_offset = f.offset;
    }
    const char* type_name = type ? type->name() : "";
    h.type_name_size = static_cast<std::uint32_t>(::strnlen(type_name, kCrashMaxTypeName));
    char* out = g_report + sizeof(wire::Header) + sizeof h;
    std::memcpy(out, type_name, h.type_name_size);
    out += h.type_name_size;
    for (std::size_t i = first; i < u.count && h.frame_count < kCrashMaxFrames; ++i, ++h.frame_count) {
        const ReportFrame f = frame_of(u.pcs[i]);
        std::memcpy(out, &f, sizeof f);
        out += sizeof f;
    }
    std::memcpy(g_report + sizeof(wire::Header), &h, sizeof h);
    const auto payload = static_cast<std::uint32_t>(out - g_report - sizeof(wire::Header));
    const wire::Header wh{payload, wire::Kind::crash, {0, 0, 0}, 0};
    std::memcpy(g_report, &wh, sizeof wh);
    ReplyCourier::claim_wire_for_crash();  // a reply being sent ends first: frames never interleave
    write_all(g_report_fd, g_report, sizeof wh + payload);
}

std::uintptr_t interrupted_pc(void* context) noexcept {
    const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
    return static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return static_cast<std::uintptr_t>(uc->uc_mcontext.pc);
#else
    (void)uc;
    return 0;
#endif
}

// Installed with SA_RESETHAND | SA_NODEFER: the raise below meets the default action.
void on_fatal_signal(int sig, siginfo_t*, void* context) {
    const int saved_errno = errno;
    static Unwound u;  // static: the alternate stack is small
    u.count = 0;
    _Unwind_Backtrace(collect, &u);
    // Frames up to the kernel's signal trampoline are this handler's (and a sanitizer's):
    // the stack starts at the interrupted instruction.
    const std::uintptr_t pc = interrupted_pc(context);
    std::size_t first = u.count;
    for (std::size_t i = 0; i < u.count; ++i) {
        if (u.pcs[i] == pc) {
            first = i;
            break;
        }
    }
    if (first == u.count) {  // unwinding did not cross the signal frame: the pc alone
        u.pcs[0] = pc;
        u.count = pc ? 1 : 0;
        first = 0;
    }
    send_report(sig, 0, u, first);
    errno = saved_errno;
    ::raise(sig);
}

void on_worker_exit(int status, void*) {
    if (!g_running_code.load(std::memory_order_relaxed) && !g_running_type.load(std::memory_order_relaxed)) return;
    static Unwound u;
    u.count = 0;
    _Unwind_Backtrace(collect, &u);
    // Frames 0 to 2 are this hook, glibc's exit handlers and exit() itself.
    send_report(0, status, u, std::min<std::size_t>(3, u.count));
}

}  // namespace

void note_running_call(const void* code, const std::type_info* callable) noexcept {
    if (callable) forget_throw_stack();  // a call starts: an earlier call's throw is not its
    g_running_code.store(code, std::memory_order_relaxed);
    g_running_type.store(callable, std::memory_order_relaxed);
}

bool call_running() noexcept {
    return g_running_type.load(std::memory_order_relaxed) != nullptr;
}

void install_crash_reporter(int fd) noexcept {
    g_report_fd = fd;
    g_module_count = 0;
    dl_iterate_phdr(note_module, nullptr);
    {  // the unwinder's first use may allocate: not in the handler
        Unwound u;
        _Unwind_Backtrace(collect, &u);
    }
    // The alternate stack: a stack overflow leaves none to run the handler on. Sanitizers'
    // handlers need more than SIGSTKSZ.
    constexpr std::size_t kAltStack = 256 * 1024;
    void* mem = ::mmap(nullptr, kAltStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem != MAP_FAILED) {
        stack_t ss{};
        ss.ss_sp = mem;
        ss.ss_size = kAltStack;
        ::sigaltstack(&ss, nullptr);
    }
    struct sigaction sa {};
    sa.sa_sigaction = on_fatal_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &sa, nullptr);
    ::on_exit(on_worker_exit, nullptr);
}

}  // namespace cf::detail
