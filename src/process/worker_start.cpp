#include "worker_start.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "../posix_error.hpp"
#include "launcher.hpp"

namespace cf::detail {

StartedWorker start_worker_process(StartMethod method, int max_tasks, int manager_wake_fd,
                                   express::Lane::BreakPool break_pool) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("cfutures: socketpair");
    StartedWorker w;
    try {
        w.pid = launch_worker(method, sv[1], sv[0], max_tasks);
    } catch (...) {
        ::close(sv[0]);
        ::close(sv[1]);
        throw;
    }
    ::close(sv[1]);
    w.sock = sv[0];
    if (max_tasks == 0) w.lane = express::LaneSet::open(w.sock, manager_wake_fd, std::move(break_pool));
    w.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, w.pid, 0));
    if (w.pidfd < 0) {
        const int error = errno;
        ::kill(w.pid, SIGKILL);
        ::waitpid(w.pid, nullptr, 0);
        ::close(w.sock);
        errno = error;
        throw_errno("cfutures: pidfd_open");
    }
    ::fcntl(w.pidfd, F_SETFD, FD_CLOEXEC);
    ::fcntl(w.sock, F_SETFL, ::fcntl(w.sock, F_GETFL) | O_NONBLOCK);
    return w;
}

}  // namespace cf::detail
