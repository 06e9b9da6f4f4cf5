// What a frame from a worker may be, judged from its header alone, as soon as the
// header has arrived and before its payload is awaited. A worker is not trusted (see
// the threat model in docs/design.md): garbage on its socket must break the pool at
// once, with a message that says what was wrong, rather than make the pool wait for
// the gigabytes the garbage claims, swallowing every later reply of that worker.
#pragma once

#include <cstdint>

#include "crash_report.hpp"
#include "express_lane.hpp"
#include "wire.hpp"

namespace cf::detail {

/// Null when `h` can be what a worker sends: a reply to its oldest call in flight
/// (`oldest_in_flight`, null when none is), a notice of its express lane (`lane`, null
/// when it has none) that the lane finds plausible, or a bounded fatal message. Otherwise
/// why it cannot be.
inline const char* check_worker_frame(const wire::Header& h, const std::uint64_t* oldest_in_flight,
                                      const express::Lane* lane) noexcept {
    if (h.pad[0] != 0 || h.pad[1] != 0 || h.pad[2] != 0) return "a header with non-zero padding";
    switch (h.kind) {
        case wire::Kind::reply:
            if (!oldest_in_flight) return "a reply, but no call was sent to it";
            if (h.id != *oldest_in_flight) return "a reply to a call that is not its oldest in flight";
            return nullptr;
        case wire::Kind::skipped:
            if (!oldest_in_flight) return "a skipped call, but no call was sent to it";
            if (h.id != *oldest_in_flight) return "a skipped call that is not its oldest in flight";
            if (h.size != 0) return "a skipped call with a payload";
            return nullptr;
        case wire::Kind::lane_done:
            if (!lane) return "an express-lane notice, but it has no lane";
            if (!lane->plausible_notice(h.id, h.size)) return "an express-lane notice of a call its lane does not hold";
            return nullptr;
        case wire::Kind::retiring:
            if (h.id != 0 || h.size != 0) return "a retiring notice with a call id or a payload";
            return nullptr;
        case wire::Kind::fatal:
            if (h.id != 0) return "a fatal message with a call id";
            if (h.size > wire::kMaxFatal) return "a fatal message of over 1 MiB";
            return nullptr;
        case wire::Kind::crash:
            if (h.id != 0) return "a crash report with a call id";
            if (h.size > kCrashMaxReportBytes) return "a crash report longer than a report can be";
            return nullptr;
        default:
            return "a frame of a kind a worker never sends";
    }
}

}  // namespace cf::detail
