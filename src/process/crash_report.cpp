// The parent's side of crash reports (crash_report.hpp): a dead worker's report,
// checked, symbolized in this process, and the sentence that says how it ended.
#include "crash_report.hpp"

#include <cxxabi.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <cfutures/detail/code_ref.hpp>
#include <cfutures/detail/type_name.hpp>

#include "../symbolize.hpp"
#include "crash_report_format.hpp"

namespace cf::detail {

namespace {

using namespace crash;

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
