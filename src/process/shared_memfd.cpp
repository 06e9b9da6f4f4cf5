#include "shared_memfd.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "../posix_error.hpp"

namespace cf::detail {

SharedMemfd map_shared_memfd(const char* name, std::size_t size, const char* what) {
    const int memfd = ::memfd_create(name, MFD_CLOEXEC);
    if (memfd < 0) throw_errno("cfutures: memfd_create");
    auto fail = [&](const char* call) {
        const int error = errno;
        ::close(memfd);
        errno = error;
        throw_errno((std::string("cfutures: ") + call + " of " + what).c_str());
    };
    if (::ftruncate(memfd, static_cast<off_t>(size)) != 0) fail("ftruncate");
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (p == MAP_FAILED) fail("mmap");
    return SharedMemfd{memfd, p};
}

}  // namespace cf::detail
