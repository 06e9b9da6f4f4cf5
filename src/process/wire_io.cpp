// See wire_io.hpp.
#include "wire_io.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "fd_passing.hpp"

namespace cf::detail::wire {

bool write_all(int fd, const char* data, std::size_t size) noexcept {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

long read_some(int fd, std::string& out, std::vector<int>& fds, bool wait) {
    // Read into a fixed buffer and append: growing the string first would zero-fill it on every read.
    static thread_local char chunk[64 * 1024];
    // Room for the two fds of an express lane, the most the pool ever passes at once.
    const ssize_t n = receive_with_fds(fd, chunk, sizeof chunk, fds, /*max_fds=*/2, wait ? 0 : MSG_DONTWAIT);
    if (n < 0 && !wait && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n <= 0) return -1;
    out.append(chunk, static_cast<std::size_t>(n));
    return static_cast<long>(n);
}

}  // namespace cf::detail::wire
