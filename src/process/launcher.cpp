#include "launcher.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "../posix_error.hpp"
#include "fd_passing.hpp"

extern char** environ;

namespace cf::detail {

namespace {

/// The fd number a started process finds its socket on.
constexpr int kChildFd = 3;

/// The one object of type T a process has, made on first use, never destroyed (its
/// thread, or the server it talks to, lives as long as the program). A child of fork()
/// forgets its parent's (see forget_after_fork): no lock guards the making, so none can
/// have been held by a thread that the fork left behind.
template <class T>
class PerProcess {
public:
    T& get() {
        T* t = ptr_.load(std::memory_order_acquire);
        if (t) return *t;
        auto* fresh = new T;
        if (ptr_.compare_exchange_strong(t, fresh, std::memory_order_acq_rel)) {
            fresh->start();
            return *fresh;
        }
        delete fresh;  // another thread made it first (start() not called: nothing runs)
        return *t;
    }
    /// In a child of fork(): the parent's object is left alone (its mutexes may be held by
    /// threads that do not exist here) and a fresh one is made on first use.
    T* forget() noexcept { return ptr_.exchange(nullptr, std::memory_order_relaxed); }

private:
    std::atomic<T*> ptr_{nullptr};
};

/// Runs jobs on the one long-lived thread that starts every child process.
class Launcher {
public:
    void start() {
        std::thread([this] { loop(); }).detach();
    }

    template <class F>
    auto run(F f) -> decltype(f()) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto result = task.get_future();
        {
            std::lock_guard g(mutex_);
            jobs_.emplace_back([&task] { task(); });
        }
        cv_.notify_one();
        return result.get();
    }

private:
    void loop() {
        ::pthread_setname_np(::pthread_self(), "cfutures-launch");
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lk(mutex_);
                cv_.wait(lk, [&] { return !jobs_.empty(); });
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            job();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
};

/// posix_spawn of the program itself with CFUTURES_ROLE set and `fd` as fd 3.
pid_t spawn_self(const std::string& role, int fd) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (fd == kChildFd) {
        // dup2 onto itself would keep O_CLOEXEC: clear it in the child by a round trip.
        posix_spawn_file_actions_adddup2(&actions, fd, kChildFd + 100);
        posix_spawn_file_actions_adddup2(&actions, kChildFd + 100, kChildFd);
        posix_spawn_file_actions_addclose(&actions, kChildFd + 100);
    } else {
        posix_spawn_file_actions_adddup2(&actions, fd, kChildFd);
    }
    std::vector<std::string> env_storage;
    for (char** e = environ; *e; ++e) {
        if (std::strncmp(*e, "CFUTURES_ROLE=", 14) != 0) env_storage.emplace_back(*e);
    }
    env_storage.push_back("CFUTURES_ROLE=" + role + ":" + std::to_string(::getpid()));
    std::vector<char*> envp;
    for (auto& s : env_storage) envp.push_back(s.data());
    envp.push_back(nullptr);

    char self[] = "/proc/self/exe";
    std::string arg0 = program_invocation_name ? program_invocation_name : "cfutures-worker";
    char* argv[] = {arg0.data(), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, self, &actions, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "cfutures: cannot start a worker process");
    return pid;
}

PerProcess<Launcher> g_launcher;

/// fork() from the launcher thread: the child, which dies with the program
/// (PR_SET_PDEATHSIG), runs `child()`, which never returns. The child's pid.
template <class Child>
pid_t fork_from_launcher(Child child) {
    return g_launcher.get().run([&]() -> pid_t {
        const pid_t pid = ::fork();
        if (pid < 0) throw_errno("cfutures: fork");
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            child();
            ::_exit(127);  // not reached: a child never returns into the program's code
        }
        return pid;
    });
}

/// Starts a server process with `start(program_end, server_end)` (its pid), given the
/// server's end of a new control socket; the program's end goes to `control`.
template <class Start>
pid_t start_server(Start start, int& control) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("cfutures: socketpair");
    pid_t pid = -1;
    try {
        pid = start(sv[0], sv[1]);
    } catch (...) {
        ::close(sv[0]);
        ::close(sv[1]);
        throw;
    }
    ::close(sv[1]);
    control = sv[0];
    return pid;
}

/// Asks the fork server (or a zygote) on `control` for a worker on `worker_fd`; false
/// when it is gone.
bool request_worker(int control, int worker_fd, int max_tasks) {
    const int fds[1] = {worker_fd};
    return send_with_fds(control, &max_tasks, sizeof max_tasks, fds);
}

/// The pid it answers with; -1 when it could not fork, or is gone.
pid_t forked_worker_pid(int control) {
    pid_t pid = -1;
    for (;;) {
        const ssize_t n = ::recv(control, &pid, sizeof pid, 0);
        if (n < 0 && errno == EINTR) continue;
        return n == sizeof pid && pid > 0 ? pid : -1;
    }
}

/// The fork server's side: one per program, started lazily, forks workers on request.
class ForkServer {
public:
    void start() {}  // the server itself starts with the first worker it is asked for

    /// In a child of fork(): the parent's server is the parent's (its workers would write
    /// to the parent's stdout); the child's copy of the connection goes.
    void drop_inherited_connection() noexcept {
        if (control_ >= 0) ::close(control_);
    }

    pid_t fork_worker(int worker_fd, int max_tasks) {
        std::lock_guard g(mutex_);
        if (control_ < 0) start_server();
        if (!send_request(worker_fd, max_tasks)) {
            // The server died (killed by someone): start a new one and try once more.
            ::close(control_);
            control_ = -1;
            start_server();
            if (!send_request(worker_fd, max_tasks)) throw std::runtime_error("cfutures: the fork server does not answer");
        }
        const pid_t pid = forked_worker_pid(control_);
        if (pid <= 0) throw std::runtime_error("cfutures: the fork server could not fork a worker");
        return pid;
    }

private:
    void start_server() {
        cf::detail::start_server(
            [](int, int server_end) {
                return g_launcher.get().run(
                    [&] { return spawn_self("forkserver:" + std::to_string(kChildFd) + ":0", server_end); });
            },
            control_);
    }

    bool send_request(int worker_fd, int max_tasks) { return request_worker(control_, worker_fd, max_tasks); }

    std::mutex mutex_;
    int control_ = -1;
};

PerProcess<ForkServer> g_fork_server;

/// A program that forks (without exec) after using a pool can use pools in the child, as
/// in Python: the child gets its own launcher thread (the parent's does not exist in the
/// child) and its own fork server.
void forget_after_fork() noexcept {
    g_launcher.forget();
    if (ForkServer* parents = g_fork_server.forget()) parents->drop_inherited_connection();
}

[[maybe_unused]] const int g_atfork_registered = ::pthread_atfork(nullptr, nullptr, &forget_after_fork);

}  // namespace

void run_fork_server(int control_fd, bool forked_from_the_program) noexcept {
    for (;;) {
        int max_tasks = 0;
        std::vector<int> passed;
        const ssize_t n = receive_with_fds(control_fd, &max_tasks, sizeof max_tasks, passed, /*max_fds=*/1);
        if (n <= 0) ::_exit(0);  // the program is gone
        if (passed.empty()) ::_exit(1);
        const int worker_fd = passed[0];
        const pid_t parent = ::getppid();
        // CLONE_PARENT: the worker becomes a child of the program (our parent), which
        // can then wait for it and read its exit status directly.
        const long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
        if (pid == 0) {
            ::close(control_fd);
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(0);
            run_worker(worker_fd, max_tasks, forked_from_the_program);
        }
        ::close(worker_fd);
        const pid_t reply = pid > 0 ? static_cast<pid_t>(pid) : -1;
        ::send(control_fd, &reply, sizeof reply, MSG_NOSIGNAL);
    }
}

ForkZygote::ForkZygote() {
    pid_ = start_server(
        [](int program_end, int server_end) {
            return fork_from_launcher([&] {
                ::close(program_end);
                run_fork_server(server_end, /*forked_from_the_program=*/true);
            });
        },
        control_);
}

ForkZygote::~ForkZygote() {
    // Not by closing the control socket: processes forked since hold copies of it.
    ::kill(pid_, SIGKILL);  // a child not yet reaped: its pid cannot have been reused
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    ::close(control_);
}

pid_t ForkZygote::fork_worker(int worker_fd) {
    const pid_t pid = request_worker(control_, worker_fd, 0) ? forked_worker_pid(control_) : -1;
    if (pid <= 0) throw std::runtime_error("cfutures: the process that forks a Fork pool's later workers does not answer");
    return pid;
}

pid_t launch_worker(StartMethod method, int worker_fd, int pool_fd, int max_tasks, ForkZygote* zygote) {
    switch (method) {
        case StartMethod::Fork:
            if (zygote) return zygote->fork_worker(worker_fd);
            return fork_from_launcher([&] {
                ::close(pool_fd);
                run_worker(worker_fd, max_tasks, /*forked_from_the_program=*/true);
            });
        case StartMethod::Spawn:
            return g_launcher.get().run([&] {
                return spawn_self("worker:" + std::to_string(kChildFd) + ":" + std::to_string(max_tasks), worker_fd);
            });
        case StartMethod::ForkServer:
            return g_fork_server.get().fork_worker(worker_fd, max_tasks);
    }
    throw std::invalid_argument("cfutures: unknown start method");
}

}  // namespace cf::detail
