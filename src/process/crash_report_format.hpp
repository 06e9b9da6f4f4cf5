// The bytes of a crash report, as the worker's handler writes them and the parent
// reads them (checked, untrusted): a header, the callable's mangled type name, then
// one (module index, offset) pair a frame, innermost first.
#pragma once

#include <cstdint>

#include "crash_report.hpp"

namespace cf::detail::crash {

inline constexpr std::uint32_t kMagic = 0x52434643;  // "CFCR"
inline constexpr std::uint16_t kVersion = 1;
inline constexpr std::uint32_t kNoModule = 0xffffffff;  // a frame outside every module: offset is the address

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

}  // namespace cf::detail::crash
