// The bytes a worker writes on its socket (any bytes, arriving in pieces of any size),
// read as the pool's manager reads them: the frame reader, the header check that
// breaks the pool at the first frame that cannot be, and each accepted frame taken as
// the manager takes it (a reply decoded into its call's future, an express-lane notice
// given to the lane, a fatal message kept).
#include <unistd.h>

#include <deque>
#include <string>

#include "express_lane.hpp"
#include "frame_check.hpp"
#include "fuzz_util.hpp"
#include "wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cf::detail;
    cf_fuzz::Input in(data, size);
    auto owned_lane = cf_fuzz::new_lane();
    express::Lane& lane = *owned_lane;
    lane.forget_memfd();
    // Calls in flight on the socket (ids 1..4) and, when the first byte says so, one in the lane.
    std::deque<std::pair<std::uint64_t, cf_fuzz::RemoteFuture<std::string>>> in_flight;
    for (std::uint64_t id = 1; id <= 4; ++id) in_flight.emplace_back(id, cf_fuzz::RemoteFuture<std::string>{});
    cf_fuzz::RemoteFuture<std::string> lane_call(/*running=*/false);
    const bool lane_busy = (in.byte() & 1) != 0;
    if (lane_busy) {
        lane.offer();  // the lane takes the call (and the manager's reference)
        if (!lane.try_start(lane_call.state, "a call", &complete_call<std::string>)) __builtin_trap();
    } else {
        lane_call.state->set_running_or_notify_cancel();
        lane_call.state->release();
        lane_call.state->set_exception(std::make_exception_ptr(std::runtime_error("not in the lane")));
    }
    wire::FrameReader reader;
    std::string fatal;
    bool broken = false;
    while (!in.empty() && !broken) {
        reader.buffer().append(in.take(1 + in.byte() % 64));
        wire::Header h{};
        std::string_view payload;
        const char* why = nullptr;
        for (;;) {
            const auto next = reader.next(
                h, payload,
                [&](const wire::Header& hd) {
                    return check_worker_frame(hd, in_flight.empty() ? nullptr : &in_flight.front().first, &lane);
                },
                why);
            if (next == wire::FrameReader::Next::none) break;
            if (next == wire::FrameReader::Next::bad) {
                if (!why) __builtin_trap();  // a bad frame always says why
                broken = true;
                break;
            }
            if (h.kind == wire::Kind::fatal) {
                fatal.assign(payload);
            } else if (h.kind == wire::Kind::lane_done) {
                lane.take_reply(h.id, payload);
            } else {
                auto& call = in_flight.front().second;
                try {
                    complete_call<std::string>(call.state, payload);
                } catch (...) {
                    broken = true;  // an undecodable reply breaks the pool
                    CallBook::fail(call.state, std::current_exception());
                }
                call.state->release();
                if (!call.future.done()) __builtin_trap();
                in_flight.pop_front();
                if (broken) break;
            }
        }
    }
    // The pool breaks (or shuts down): every call still held fails.
    const auto error = std::make_exception_ptr(cf::BrokenProcessPool("the fuzzer's pool is done"));
    for (auto& [id, call] : in_flight) {
        CallBook::fail(call.state, error);
        call.state->release();
        if (!call.future.done()) __builtin_trap();
    }
    lane.fail(error);
    if (!lane_call.future.done()) __builtin_trap();
    return 0;
}
