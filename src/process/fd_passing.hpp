// Passing file descriptors over a Unix socket (SCM_RIGHTS): the fork server's
// requests (a worker's socket, launcher.cpp), a worker's express lane (its memfd
// and eventfd, express_lanes.cpp) and the worker's reads (wire_io.cpp).
//
// One module because the msghdr/cmsghdr dance is easy to get subtly wrong, and
// because a receiver must treat what arrives as untrusted: an fd it did not
// expect must not leak, and a control message must be checked (level, type,
// length) before its data is read.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <span>
#include <vector>

namespace cf::detail {

/// The most fds one message may carry, either way.
inline constexpr std::size_t kMaxPassedFds = 4;

/// Sends `size` bytes with `fds` attached (at most kMaxPassedFds; none: a plain send) in
/// one sendmsg, retried on EINTR, with MSG_NOSIGNAL (a peer that is gone is an error, not
/// a SIGPIPE). True when every byte went in that one call: the fds travel with the first
/// byte, so a caller that needs more calls has a message the receiver must not trust.
bool send_with_fds(int sock, const void* data, std::size_t size, std::span<const int> fds) noexcept;

/// One recvmsg of at most `size` bytes into `data`, retried on EINTR, with
/// MSG_CMSG_CLOEXEC and `flags` (e.g. MSG_DONTWAIT). Room is made for `max_fds` passed fds
/// (at most kMaxPassedFds; the kernel closes any beyond them); those that arrive are
/// appended to `fds`, owned by the caller. Any other control message is skipped, and a
/// malformed one ends the walk. Returns recvmsg's result: the bytes read, 0 at EOF, or -1
/// with errno set (then no fd was received).
ssize_t receive_with_fds(int sock, void* data, std::size_t size, std::vector<int>& fds, std::size_t max_fds,
                         int flags = 0);

}  // namespace cf::detail
