#include "express_lanes.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "wire.hpp"

namespace cf::detail::express {

std::shared_ptr<Lane> LaneSet::open(int sock, int manager_wake_fd, Lane::BreakPool break_pool) noexcept {
    try {
        auto lane = std::make_shared<Lane>(manager_wake_fd, std::move(break_pool));
        std::string frame;
        wire::append_frame(frame, wire::Kind::lane, 0, {});
        const int fds[2] = {lane->memfd(), lane->worker_wake_fd()};
        iovec iov{frame.data(), frame.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof fds)] = {};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof fds);
        std::memcpy(CMSG_DATA(cm), fds, sizeof fds);
        ssize_t n = -1;
        do {
            n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n != static_cast<ssize_t>(frame.size())) return nullptr;
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
