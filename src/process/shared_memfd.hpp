// Shared memory the pool makes and hands to one worker (its express lane, its stop
// board): a memfd of a fixed size, mapped read-write in the pool. The worker maps
// the same fd, received over its socket.
#pragma once

#include <cstddef>

namespace cf::detail {

struct SharedMemfd {
    int memfd = -1;           // sent to the worker once, then closed
    void* address = nullptr;  // the pool's mapping, `size` bytes
};

/// Creates the memfd (`name` shows in /proc/<pid>/maps) and maps it. Throws
/// std::system_error, naming `what` ("an express lane"), when it cannot; nothing is
/// left open then.
SharedMemfd map_shared_memfd(const char* name, std::size_t size, const char* what);

}  // namespace cf::detail
