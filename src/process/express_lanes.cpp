#include "express_lanes.hpp"

#include <algorithm>

#include "fd_passing.hpp"
#include "wire.hpp"

namespace cf::detail::express {

std::shared_ptr<Lane> LaneSet::open(int sock, int manager_wake_fd, Lane::BreakPool break_pool) noexcept {
    try {
        auto lane = std::make_shared<Lane>(manager_wake_fd, std::move(break_pool));
        std::string frame;
        wire::append_frame(frame, wire::Kind::lane, 0, {});
        const int fds[2] = {lane->memfd(), lane->worker_wake_fd()};
        if (!send_with_fds(sock, frame.data(), frame.size(), fds)) return nullptr;
        lane->forget_memfd();
        return lane;
    } catch (...) {
        return nullptr;
    }
}

void LaneSet::remove_locked(const std::shared_ptr<Lane>& lane) { std::erase(lanes_, lane); }

bool LaneSet::try_submit_locked(StateBase* state, const std::string& bytes, ReplyDecoder decode) {
    for (const auto& lane : lanes_) {
        if (lane->try_start(state, bytes, decode)) {
            state->set_wait_helper(lane);
            return true;
        }
    }
    return false;
}

void LaneSet::manager_waits(bool waits) noexcept {
    for (const auto& lane : lanes_) lane->set_manager_waits(waits);
}

void LaneSet::fail_all(const std::exception_ptr& error) noexcept {
    for (const auto& lane : lanes_) lane->fail(error);
}

}  // namespace cf::detail::express
