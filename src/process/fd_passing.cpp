// See fd_passing.hpp.
#include "fd_passing.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cf::detail {

bool send_with_fds(int sock, const void* data, std::size_t size, std::span<const int> fds) noexcept {
    if (fds.size() > kMaxPassedFds) {
        errno = EINVAL;
        return false;
    }
    iovec iov{const_cast<void*>(data), size};
    alignas(cmsghdr) char control[CMSG_SPACE(kMaxPassedFds * sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds.empty()) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(fds.size_bytes());
        cmsghdr* cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(fds.size_bytes());
        std::memcpy(CMSG_DATA(cm), fds.data(), fds.size_bytes());
    }
    for (;;) {
        const ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        return n == static_cast<ssize_t>(size);
    }
}

ssize_t receive_with_fds(int sock, void* data, std::size_t size, std::vector<int>& fds, std::size_t max_fds,
                         int flags) {
    if (max_fds > kMaxPassedFds) max_fds = kMaxPassedFds;
    iovec iov{data, size};
    alignas(cmsghdr) char control[CMSG_SPACE(kMaxPassedFds * sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (max_fds > 0) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(max_fds * sizeof(int));
    }
    ssize_t n = -1;
    do {
        n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
    } while (n < 0 && errno == EINTR);
    if (n < 0 || msg.msg_controllen == 0) return n;
    // Every fd received is taken out of the control data before anything can throw, so
    // that none is left open and unowned if appending to `fds` fails.
    int received[kMaxPassedFds];
    std::size_t count = 0;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_len < CMSG_LEN(0)) break;  // malformed: nothing after it can be read safely
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;  // carries no fd
        // The fds the message holds, no more than the control data received has room for.
        const auto* first = reinterpret_cast<const char*>(CMSG_DATA(cm));
        const std::size_t room = static_cast<std::size_t>(control + msg.msg_controllen - first);
        const std::size_t in_message = std::min<std::size_t>(cm->cmsg_len - CMSG_LEN(0), room) / sizeof(int);
        for (std::size_t i = 0; i < in_message; ++i) {
            int passed = -1;
            std::memcpy(&passed, first + i * sizeof(int), sizeof(int));
            if (count < kMaxPassedFds) {
                received[count++] = passed;
            } else {
                ::close(passed);  // more than any control data we offer holds: not ours to keep
            }
        }
    }
    std::size_t kept = 0;
    try {
        for (; kept < count; ++kept) fds.push_back(received[kept]);
    } catch (...) {
        for (std::size_t i = kept; i < count; ++i) ::close(received[i]);
        throw;
    }
    return n;
}

}  // namespace cf::detail
