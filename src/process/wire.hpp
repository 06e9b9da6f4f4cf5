// The framing between the pool's manager thread and a worker process, over
// a Unix stream socket: a 16-byte header, then the payload.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cf::detail::wire {

enum class Kind : std::uint8_t {
    // parent -> worker
    call = 1,   // payload: encoded call; id: the call's id
    init = 2,   // payload: encoded initializer call
    exit = 3,   // no payload: finish and exit
    lane = 4,   // no payload; carries the express lane's memfd and eventfd (SCM_RIGHTS)
    board = 5,  // no payload; carries the stop board's memfd (SCM_RIGHTS), before any lane
    limits = 6,  // payload: u64 max_memory_per_child in bytes
    // worker -> parent
    reply = 11,  // payload: the call's reply
    fatal = 12,  // payload: why the worker is about to exit (bad call bytes, failed initializer)
    lane_done = 13,  // a lane call's reply is ready; payload: the reply, when too big for the lane
    crash = 14,      // payload: a crash report (crash_report.hpp), sent as the worker dies in a call
    skipped = 15,    // no payload: the call with this id was stopped before it began (stop_board.hpp)
    retiring = 16,   // no payload: over max_memory_per_child after its last reply, the worker exits
};

struct Header {
    std::uint32_t size;  // payload bytes
    Kind kind;
    std::uint8_t pad[3];
    std::uint64_t id;
};
static_assert(sizeof(Header) == 16);

/// The most a frame's payload can hold (its size is 32 bits): a call that encodes to more
/// is refused by submit, a worker whose result does is ended with a fatal frame that says so.
inline constexpr std::size_t kMaxPayload = 0xffffffffu;
/// The most a worker's fatal frame may say.
inline constexpr std::uint32_t kMaxFatal = 1024 * 1024;

/// Appends one frame; `payload` must be at most kMaxPayload bytes.
inline void append_frame(std::string& out, Kind kind, std::uint64_t id, std::string_view payload) {
    Header h{static_cast<std::uint32_t>(payload.size()), kind, {0, 0, 0}, id};
    out.append(reinterpret_cast<const char*>(&h), sizeof h);
    out.append(payload);
}

/// Parses frames out of a receive buffer.
class FrameReader {
public:
    std::string& buffer() noexcept { return buf_; }

    enum class Next { none, frame, bad };

    /// The next complete frame (Next::frame), or Next::none until more bytes come. `check`
    /// judges a header as soon as it has arrived, before its payload is awaited: it returns
    /// null, or why the frame cannot be (then Next::bad, `why` set, and the reader is
    /// stuck: the sender is not to be believed any more). The payload view is valid until
    /// the next call.
    template <class Check>
    Next next(Header& h, std::string_view& payload, Check&& check, const char*& why) {
        if (pos_ > 0 && pos_ == buf_.size()) {
            buf_.clear();
            pos_ = 0;
        }
        if (buf_.size() - pos_ < sizeof(Header)) return compact();
        std::memcpy(&h, buf_.data() + pos_, sizeof h);
        if ((why = check(h)) != nullptr) return Next::bad;
        if (buf_.size() - pos_ - sizeof h < h.size) return compact();
        payload = std::string_view(buf_.data() + pos_ + sizeof h, h.size);
        pos_ += sizeof h + h.size;
        return Next::frame;
    }

    /// The next complete frame from a sender that is trusted (the pool, to its worker).
    bool next(Header& h, std::string_view& payload) {
        const char* why = nullptr;
        return next(h, payload, [](const Header&) -> const char* { return nullptr; }, why) == Next::frame;
    }

    [[nodiscard]] bool has_partial() const noexcept { return pos_ < buf_.size(); }

private:
    Next compact() {
        if (pos_ > 0) {
            buf_.erase(0, pos_);
            pos_ = 0;
        }
        return Next::none;
    }
    std::string buf_;
    std::size_t pos_ = 0;
};

}  // namespace cf::detail::wire
