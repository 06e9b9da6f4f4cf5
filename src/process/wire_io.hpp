// A worker's blocking I/O on its socket to the pool: whole writes, and reads
// that keep the fds the pool passes with its bytes (the express lane's).
//
// Apart from wire.hpp, which only frames bytes (the pool, the fuzzers and the
// worker all parse frames; only the worker's side, and its express lane's
// notices, do this I/O).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cf::detail::wire {

/// Writes all `size` bytes (retried on EINTR, with MSG_NOSIGNAL). False once the peer is
/// gone or the socket fails.
bool write_all(int fd, const char* data, std::size_t size) noexcept;
/// Reads what is available (blocking for at least one byte unless `wait` is false) into
/// `out`, keeping fds passed with it (SCM_RIGHTS) in `fds`. Returns the bytes read
/// (0 when `wait` is false and nothing was there), or -1 at EOF or error.
long read_some(int fd, std::string& out, std::vector<int>& fds, bool wait = true);

}  // namespace cf::detail::wire
