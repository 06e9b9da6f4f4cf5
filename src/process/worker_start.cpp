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
#include "fd_passing.hpp"
#include "launcher.hpp"
#include "wire.hpp"
#include "wire_io.hpp"

namespace cf::detail {

StartedWorker start_worker_process(StartMethod method, int max_tasks, std::size_t max_memory, int manager_wake_fd,
                                   express::Lane::BreakPool break_pool, ForkZygote* zygote) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("cfutures: socketpair");
    StartedWorker w;
    try {
        w.pid = launch_worker(method, sv[1], sv[0], max_tasks, zygote);
    } catch (...) {
        ::close(sv[0]);
        ::close(sv[1]);
        throw;
    }
    ::close(sv[1]);
    w.sock = sv[0];
    // The board's frame goes first, before any lane's: the worker takes the fds in order.
    try {
        w.board = std::make_unique<StopBoard>();
        std::string frame;
        wire::append_frame(frame, wire::Kind::board, 0, {});
        const int fds[2] = {w.board->memfd(), w.board->poke_fd()};
        if (send_with_fds(w.sock, frame.data(), frame.size(), fds)) w.board->forget_memfd();
        else w.board.reset();  // the worker is gone already: its pidfd says how
        if (max_memory > 0) {
            std::string limits;
            const std::uint64_t bytes = max_memory;
            wire::append_frame(limits, wire::Kind::limits, 0,
                               std::string_view(reinterpret_cast<const char*>(&bytes), sizeof bytes));
            [[maybe_unused]] const bool sent = wire::write_all(w.sock, limits.data(), limits.size());
        }
    } catch (...) {
        ::kill(w.pid, SIGKILL);
        ::waitpid(w.pid, nullptr, 0);
        ::close(w.sock);
        throw;
    }
    if (max_tasks == 0 && max_memory == 0) w.lane = express::LaneSet::open(w.sock, manager_wake_fd, std::move(break_pool));
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
