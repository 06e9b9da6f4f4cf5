#include "crash_report.hpp"

#include <cxxabi.h>
#include <link.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <typeinfo>
#include <vector>

#include <cfutures/detail/code_ref.hpp>
#include <cfutures/detail/remote_call.hpp>

#include "../symbolize.hpp"
#include "throw_stack.hpp"
#include "wire.hpp"

namespace cf::detail {

namespace {

// ---- the report's bytes -----------------------------------------------------------

constexpr std::uint32_t kMagic = 0x52434643;  // "CFCR"
constexpr std::uint16_t kVersion = 1;
constexpr std::uint32_t kNoModule = 0xffffffff;  // a frame outside every module: offset is the address

struct ReportHeader {
    std::uint32_t magic;
    std::uint16_t version;
    std::uint16_t frame_count;
    std::int32_t signal;     // 0: the worker called exit() during a call
    std::int32_t exit_code;  // with signal 0
    std::uint32_t code_module;  // kNoModule: the callable is an object, named by its type
    std::uint32_t type_name_size;
    std::uint64_t code_offset;
};
static_assert(sizeof(ReportHeader) == 32);

struct ReportFrame {
    std::uint32_t module;
    std::uint32_t pad;
    std::uint64_t offset;
};
static_assert(sizeof(ReportFrame) == 16);
static_assert(kCrashMaxReportBytes == sizeof(ReportHeader) + kCrashMaxTypeName + kCrashMaxFrames * sizeof(ReportFrame));

// ---- worker side: what runs, where modules are ------------------------------------

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

// ---- parent side ------------------------------------------------------------------

/// "main::{lambda(int)#1}" from the mangled name a worker sent, when it looks like one
/// (a handful of characters); the demangler never sees other bytes.
std::string demangle_type_name(std::string_view mangled) {
    if (mangled.empty()) return {};
    const bool plausible = std::all_of(mangled.begin(), mangled.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!plausible) return {};
    const std::string name(mangled);
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), std::free);
    return status == 0 && out ? tidy_demangled(out.get()) : name;
}

const void* local_address(std::uint32_t module, std::uint64_t offset) {
    if (module == kNoModule) return nullptr;
    try {
        return code_address(CodeRef{module, offset});
    } catch (...) {
        return nullptr;
    }
}

struct ParsedReport {
    ReportHeader header;
    std::string_view type_name;
    std::vector<ReportFrame> frames;
};

std::optional<ParsedReport> parse(std::string_view bytes) {
    ParsedReport r{};
    if (bytes.size() < sizeof r.header) return std::nullopt;
    std::memcpy(&r.header, bytes.data(), sizeof r.header);
    const ReportHeader& h = r.header;
    if (h.magic != kMagic || h.version != kVersion || h.frame_count > kCrashMaxFrames ||
        h.type_name_size > kCrashMaxTypeName || h.signal < 0 || h.signal > 64)
        return std::nullopt;
    if (bytes.size() != sizeof h + h.type_name_size + std::size_t{h.frame_count} * sizeof(ReportFrame))
        return std::nullopt;
    r.type_name = bytes.substr(sizeof h, h.type_name_size);
    r.frames.resize(h.frame_count);
    if (h.frame_count > 0)
        std::memcpy(r.frames.data(), bytes.data() + sizeof h + h.type_name_size, h.frame_count * sizeof(ReportFrame));
    return r;
}

std::string function_of(const ParsedReport& r) {
    if (const void* code = local_address(r.header.code_module, r.header.code_offset)) {
        std::string name = function_name(code);
        if (!name.empty()) return name;
    }
    return demangle_type_name(r.type_name);
}

std::string stack_of(const ParsedReport& r, bool first_is_pc) {
    std::string out;
    for (std::size_t i = 0; i < r.frames.size(); ++i) {
        const ReportFrame& f = r.frames[i];
        std::string frame;
        if (const void* pc = local_address(f.module, f.offset)) {
            frame = describe_frame(pc, !(first_is_pc && i == 0));
            if (is_worker_loop_frame(frame)) break;
        } else if (f.module == kNoModule) {
            frame = "?? (no module holds this address)";
        } else {
            frame = "?? (module #" + std::to_string(f.module) + " is not loaded here)";
        }
        out += "  #" + std::to_string(i) + " " + frame + "\n";
    }
    return out;
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

bool is_worker_loop_frame(std::string_view frame) noexcept {
    return frame.starts_with("cf::detail::run_encoded_call(");
}

std::string signal_name(int sig) {
    if (const char* abbrev = sigabbrev_np(sig)) return "SIG" + std::string(abbrev);
    return "signal " + std::to_string(sig);
}

WorkerEnd describe_worker_end(pid_t pid, int status, std::string_view fatal, std::string_view crash_report) {
    WorkerEnd end;
    std::string sentence = "worker " + std::to_string(pid);
    if (WIFSIGNALED(status)) {
        end.signal_number = WTERMSIG(status);
        sentence += " was killed by " + signal_name(WTERMSIG(status));
    } else if (WIFEXITED(status)) {
        end.exit_code = WEXITSTATUS(status);
        sentence += " exited with code " + std::to_string(WEXITSTATUS(status));
    } else {
        sentence += " ended with status " + std::to_string(status);
    }
    const std::optional<ParsedReport> report = parse(crash_report);
    // A report whose signal is not the one the worker died by was not the last word.
    const bool fits = report && (report->header.signal == 0 ? bool(end.exit_code) : end.signal_number == report->header.signal);
    std::string stack;
    if (fits) {
        const std::string fn = function_of(*report);
        if (!fn.empty()) sentence += " while running " + fn;
        stack = stack_of(*report, report->header.signal != 0);
    }
    if (!fatal.empty()) sentence += " (" + std::string(fatal) + ")";
    end.text = sentence;
    if (!stack.empty())
        end.text += std::string(report->header.signal ? ".\nIts stack at the signal" : ".\nIts stack at exit()") +
                    ", most recent call first:\n" + stack.substr(0, stack.size() - 1);  // no newline at the end
    return end;
}

}  // namespace cf::detail
