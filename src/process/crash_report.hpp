// Crash reports: how a worker that dies while running a call tells the parent
// which call it was and where it was.
//
//   worker                                            parent (manager thread)
//   RunningCall marks the call's function  ─┐
//   fatal signal (on the alternate stack):  │
//     unwind, to (module, offset) pairs   ──┴─► wire::Kind::crash frame ─► checked parse,
//     re-raise: the worker dies by it                                      symbolized here
//   exit() during a call: on_exit hook, the same frame with the exit code
//
// Worker side: crash_handler.cpp; parent side: crash_report.cpp; the bytes between
// them: crash_report_format.hpp.
//
// The handler only unwinds (libgcc's unwinder finds frames through glibc's
// _dl_find_object, which takes no lock), copies words into a static buffer and
// writes it to the worker's socket: no allocation, no lock, no symbolizing.
// The parent reads the report as untrusted bytes: sizes are bounded and
// checked before use, names are looked up in the parent's own symbols.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cf::detail {

/// Most frames a report holds: the innermost ones (a stack overflow has many more).
inline constexpr std::uint16_t kCrashMaxFrames = 64;
/// Longest mangled callable type name a report carries.
inline constexpr std::uint16_t kCrashMaxTypeName = 512;
/// Most bytes a well-formed report has: the parent keeps no more.
inline constexpr std::size_t kCrashMaxReportBytes = 32 + kCrashMaxTypeName + kCrashMaxFrames * 16;

/// Worker side: installs the fatal-signal handlers (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
/// SIGABRT, on an alternate signal stack) and the exit hook, reporting to `fd`.
void install_crash_reporter(int fd) noexcept;

/// Whether a worker is running a call on some thread (a RunningCall is alive).
bool call_running() noexcept;

/// How a worker ended, said by the parent: one sentence naming the pid, the signal or
/// exit code and, when the worker's report says, the function it was running; then the
/// worker's stack at the signal, one frame a line.
struct WorkerEnd {
    std::string text;
    std::optional<int> exit_code;
    std::optional<int> signal_number;
};

/// Parent side: describes the end of worker `pid` from its wait status, what it said
/// before (`fatal`, may be empty) and its crash report (untrusted, may be empty or bad).
WorkerEnd describe_worker_end(pid_t pid, int status, std::string_view fatal, std::string_view crash_report);

/// Whether a frame's text ("name at file:line") is the worker's loop, which runs calls:
/// a report's stack stops above it.
bool is_worker_loop_frame(std::string_view frame) noexcept;

/// "SIGSEGV", or "signal 42" for a number without a name.
std::string signal_name(int sig);

}  // namespace cf::detail
