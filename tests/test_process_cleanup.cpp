// A ProcessPoolExecutor cleans up after itself, with every start method: after
// many pools have come and gone there is no zombie child, no leaked file
// descriptor and no file left in /tmp or /dev/shm; destroying a pool waits for
// its work; its workers are gone once it is shut down, and die with the program
// when the program is killed; every descriptor the pool opens is close-on-exec.
//
// Some checks need a program of their own (one that is SIGKILLed, one in a
// private /tmp). The test binary plays that program: started with
// CF_CLEANUP_CHILD=<role>:<start method> in its environment, it does the role in
// a static initializer, before GoogleTest's main, and exits.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "executor_test_util.hpp"
#include "process_test_util.hpp"

extern char** environ;

using namespace std::chrono_literals;

namespace cleanup_test {

constexpr auto kTimeout = 30s;

int identity(int x) { return x; }

int sleep_ms(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
}

int crash() {
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    std::signal(SIGSEGV, SIG_DFL);  // die by the signal even under a sanitizer
    ::raise(SIGSEGV);
    return 0;
}

/// The fds open in this process, with what they point to.
std::map<int, std::string> open_fds(const std::string& dir = "/proc/self/fd") {
    std::map<int, std::string> fds;
    std::vector<int> numbers;
    {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(dir, ec)) numbers.push_back(std::atoi(e.path().filename().c_str()));
    }
    for (int fd : numbers) {
        char target[512] = {};
        const std::string link = dir + "/" + std::to_string(fd);
        const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        if (n < 0) continue;  // the directory iterator's own fd, closed by now
        fds[fd] = std::string(target, static_cast<std::size_t>(n));
    }
    return fds;
}

std::string describe(const std::map<int, std::string>& fds) {
    std::string s;
    for (const auto& [fd, target] : fds) s += " " + std::to_string(fd) + "->" + target;
    return s;
}

struct ProcStat {
    pid_t pid = 0;
    char state = '?';
    pid_t ppid = 0;
};

/// Every process's (pid, state, ppid), from /proc/<pid>/stat.
std::vector<ProcStat> all_processes() {
    std::vector<ProcStat> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = e.path().filename();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(e.path() / "stat");
        std::string text;
        std::getline(in, text);
        const auto close = text.rfind(')');  // the command name may hold spaces and parens
        if (close == std::string::npos) continue;
        ProcStat st;
        st.pid = std::atoi(name.c_str());
        std::istringstream rest(text.substr(close + 1));
        rest >> st.state >> st.ppid;
        out.push_back(st);
    }
    return out;
}

/// This process's children (a fork server, workers), with their states.
std::vector<ProcStat> children() {
    std::vector<ProcStat> out;
    for (const ProcStat& p : all_processes()) {
        if (p.ppid == ::getpid()) out.push_back(p);
    }
    return out;
}

std::vector<pid_t> zombie_children() {
    std::vector<pid_t> out;
    for (const ProcStat& p : children()) {
        if (p.state == 'Z') out.push_back(p.pid);
    }
    return out;
}

std::set<pid_t> child_pids() {
    std::set<pid_t> out;
    for (const ProcStat& p : children()) out.insert(p.pid);
    return out;
}

/// Whether `pid` is a running process: neither gone nor a zombie (an orphan's
/// zombie waits for init, which in a container may never reap it).
bool alive(pid_t pid) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(in, text)) return false;
    const auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 >= text.size()) return false;
    const char state = text[close + 2];
    return state != 'Z' && state != 'X';
}

std::set<std::string> dir_entries(const std::string& dir) {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.insert(e.path().string());
    return out;
}

cf::ProcessPoolOptions options(cf::StartMethod method, int max_workers) {
    cf::ProcessPoolOptions o;
    o.max_workers = max_workers;
    o.start_method = method;
    return o;
}

// ---- the child program's roles (CF_CLEANUP_CHILD=<role>:<method>) --------------------------

void say(const std::string& line) {
    const std::string text = line + "\n";
    [[maybe_unused]] const auto n = ::write(STDOUT_FILENO, text.data(), text.size());
}

void say_children() {
    std::string line = "PIDS";
    for (pid_t pid : child_pids()) line += " " + std::to_string(pid);
    say(line);
}

/// "hold": start a pool with a busy and an idle worker, report every child, and
/// wait to be killed.
[[noreturn]] void hold_pool(cf::StartMethod method) {
    auto* ex = new cf::ProcessPoolExecutor(options(method, 2));  // never destroyed: we get SIGKILLed
    auto busy = ex->submit(&sleep_ms, 600'000);
    (void)ex->submit(&identity, 1).result(kTimeout);
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (ex->worker_pids().size() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    say_children();
    for (;;) ::pause();
}

/// Puts this process in a user and mount namespace of its own, with empty
/// tmpfs mounts on /tmp and /dev/shm. Must run while the process has one thread.
bool enter_private_tmp() {
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return false;
    auto write_file = [](const char* path, const std::string& text) {
        std::ofstream out(path);
        out << text;
        return static_cast<bool>(out.flush());
    };
    write_file("/proc/self/setgroups", "deny");
    if (!write_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n")) return false;
    if (!write_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n")) return false;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
    if (::mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777") != 0) return false;
    if (::mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777") != 0) return false;
    return dir_entries("/tmp").empty() && dir_entries("/dev/shm").empty();
}

/// "tmp": pools come and go (calls that succeed, a crash, kill_workers) in a
/// private /tmp and /dev/shm when that can be had; then report what is in them.
[[noreturn]] void pools_in_private_tmp(cf::StartMethod method) {
    // CF_CLEANUP_NO_SANDBOX=1 in the test's environment tries the fallback on purpose.
    const bool sandboxed = !std::getenv("CF_CLEANUP_NO_SANDBOX") && enter_private_tmp();
    say(sandboxed ? "SANDBOX yes" : "SANDBOX no");
    say("PIDS " + std::to_string(::getpid()));
    for (int i = 0; i < 20; ++i) {
        cf::ProcessPoolExecutor ex(options(method, 2));
        if (ex.submit(&identity, i).result(kTimeout) != i) say("FAILED wrong result");
        say_children();
    }
    {
        cf::ProcessPoolExecutor ex(options(method, 2));
        try {
            ex.submit(&crash).result(kTimeout);
            say("FAILED no BrokenProcessPool");
        } catch (const cf::BrokenProcessPool&) {
        }
    }
    {
        cf::ProcessPoolExecutor ex(options(method, 2));
        auto f = ex.submit(&sleep_ms, 60'000);
        (void)ex.submit(&identity, 1).result(kTimeout);
        say_children();
        ex.kill_workers();
    }
    for (const char* dir : {"/tmp", "/dev/shm"}) {
        for (const auto& entry : dir_entries(dir)) say("ENTRY " + entry);
    }
    say("DONE");
    std::fflush(nullptr);
    std::_Exit(0);
}

/// Runs the role asked for in CF_CLEANUP_CHILD, if any, before main.
bool run_child_role_if_asked() {
    const char* role = std::getenv("CF_CLEANUP_CHILD");
    if (!role) return false;
    const std::string r = role;
    ::unsetenv("CF_CLEANUP_CHILD");  // spawned workers start this program again: not as a child role
    const auto colon = r.find(':');
    const auto method = static_cast<cf::StartMethod>(std::atoi(r.c_str() + colon + 1));
    if (r.compare(0, colon, "hold") == 0) hold_pool(method);
    if (r.compare(0, colon, "tmp") == 0) pools_in_private_tmp(method);
    std::_Exit(2);
}

const bool kChildRoleRan = run_child_role_if_asked();

/// The test program started again in `role`, its stdout read through a pipe.
class ChildProgram {
public:
    ChildProgram(const std::string& role, cf::StartMethod method) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        std::vector<std::string> env;
        for (char** e = environ; *e; ++e) env.emplace_back(*e);
        env.push_back("CF_CLEANUP_CHILD=" + role + ":" + std::to_string(static_cast<int>(method)));
        std::vector<char*> envp;
        for (auto& s : env) envp.push_back(s.data());
        envp.push_back(nullptr);
        char arg0[] = "test_process_cleanup_child";
        char* argv[] = {arg0, nullptr};
        const int rc = ::posix_spawn(&pid_, "/proc/self/exe", &actions, nullptr, argv, envp.data());
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        out_ = fds[0];
        if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn");
    }
    ~ChildProgram() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            wait();
        }
        ::close(out_);
    }

    pid_t pid() const { return pid_; }

    /// The next line of output, or "" at EOF or after `timeout`.
    std::string read_line(std::chrono::milliseconds timeout = kTimeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto nl = buffer_.find('\n');
            if (nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left <= 0ms) return {};
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char chunk[4096];
            const ssize_t n = ::read(out_, chunk, sizeof chunk);
            if (n <= 0) return {};
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    /// Waits for the child to end; returns its wait status.
    int wait() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return status;
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
    std::string buffer_;
};

std::vector<pid_t> parse_pids(const std::string& line) {
    std::vector<pid_t> pids;
    std::istringstream in(line.substr(line.find(' ') + 1));
    for (pid_t pid; in >> pid;) pids.push_back(pid);
    return pids;
}

// ---- the tests ------------------------------------------------------------------------------

class ProcessCleanupTest : public ::testing::TestWithParam<cf::StartMethod> {
protected:
    cf_test::DeadlockWatchdog watchdog_{::testing::UnitTest::GetInstance()->current_test_info()->name(), 110s};
};

/// Pool create/destroy cycles per start method: 1,000 in all, ForkServer (the default)
/// most. Under a sanitizer, where starting a process costs 3 to 5 times more, a quarter
/// of that: the bookkeeping checked here is the same code with or without instrumentation.
int cycles_for(cf::StartMethod method) {
    const int divisor = cf_test::kUnderSanitizer ? 4 : 1;
    switch (method) {
        case cf::StartMethod::Fork: return 300 / divisor;
        case cf::StartMethod::Spawn: return 300 / divisor;
        case cf::StartMethod::ForkServer: return 400 / divisor;
    }
    return 0;
}

TEST_P(ProcessCleanupTest, test_no_zombies_or_fd_leaks_after_many_pools) {
    // Many pools, one after the other; a few break or have their workers killed.
    const cf::StartMethod method = GetParam();
    {
        // Warm up: what the library keeps for the program's lifetime (the launcher
        // thread, a fork server and its control socket) exists from here on.
        cf::ProcessPoolExecutor ex(options(method, 1));
        ASSERT_EQ(ex.submit(&identity, -1).result(kTimeout), -1);
    }
    const auto fds_before = open_fds();
    const auto children_before = child_pids();
    const int cycles = cycles_for(method);
    for (int i = 0; i < cycles; ++i) {
        cf::ProcessPoolExecutor ex(options(method, 1));
        if (i % 50 == 20) {
            // Now and then a pool breaks: its worker crashes.
            EXPECT_THROW(ex.submit(&crash).result(kTimeout), cf::BrokenProcessPool) << "cycle " << i;
        } else if (i % 50 == 40) {
            // Or its busy worker is killed.
            auto f = ex.submit(&sleep_ms, 60'000);
            ASSERT_TRUE(cf_test::eventually([&] { return !ex.worker_pids().empty(); }, kTimeout));
            ex.kill_workers();
            try {
                f.result(kTimeout);
                ADD_FAILURE() << "cycle " << i << ": the call survived kill_workers()";
            } catch (const cf::BrokenProcessPool&) {
            } catch (const cf::CancelledError&) {  // killed before it was sent
            }
        } else {
            ASSERT_EQ(ex.submit(&identity, i).result(kTimeout), i) << "cycle " << i;
        }
        if (i % 100 == 99) {
            ASSERT_EQ(zombie_children(), std::vector<pid_t>{}) << "zombies after " << i << " cycles";
        }
    }
    EXPECT_EQ(zombie_children(), std::vector<pid_t>{});
    EXPECT_EQ(child_pids(), children_before) << "child processes left behind";
    const auto fds_after = open_fds();
    EXPECT_EQ(fds_after.size(), fds_before.size())
        << "before:" << describe(fds_before) << "\nafter:" << describe(fds_after);
    for (const auto& [fd, target] : fds_after) {
        EXPECT_TRUE(fds_before.count(fd)) << "fd " << fd << " -> " << target << " leaked";
    }
}

TEST_P(ProcessCleanupTest, test_no_files_left_in_tmp_or_dev_shm) {
    // Run in a program of its own, in a private (empty) /tmp and /dev/shm when user
    // namespaces allow it: then anything found there is the pool's.
    const auto tmp_before = dir_entries("/tmp");
    const auto shm_before = dir_entries("/dev/shm");
    ChildProgram child("tmp", GetParam());
    bool sandboxed = false, done = false;
    std::set<pid_t> pids;
    std::vector<std::string> entries;
    for (std::string line; !(line = child.read_line()).empty();) {
        if (line.rfind("SANDBOX ", 0) == 0) sandboxed = line == "SANDBOX yes";
        else if (line == "DONE") done = true;
        else if (line.rfind("ENTRY ", 0) == 0) entries.push_back(line.substr(6));
        else if (line.rfind("PIDS", 0) == 0) {
            for (pid_t p : parse_pids(line)) pids.insert(p);
        } else {
            ADD_FAILURE() << "child: " << line;
        }
    }
    const int status = child.wait();
    EXPECT_TRUE(done) << "the child program did not finish";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    EXPECT_GT(pids.size(), 2u);
    if (sandboxed) {
        EXPECT_EQ(entries, std::vector<std::string>{}) << "files left in the private /tmp or /dev/shm";
        return;
    }
    // No private /tmp: other programs write there too, so only entries that name
    // one of the child's processes (its own pid or a worker's) are counted.
    for (const auto& [dir, before] : {std::pair{"/tmp", tmp_before}, std::pair{"/dev/shm", shm_before}}) {
        for (const auto& entry : dir_entries(dir)) {
            if (before.count(entry)) continue;
            const std::string name = std::filesystem::path(entry).filename();
            for (pid_t pid : pids) {
                EXPECT_EQ(name.find(std::to_string(pid)), std::string::npos) << entry << " left behind";
            }
        }
    }
    std::printf("note: no private /tmp (no user namespaces, or CF_CLEANUP_NO_SANDBOX); checked entries named after our pids\n");
}

TEST_P(ProcessCleanupTest, test_destroying_executor_waits_for_pending_work) {
    std::vector<cf::Future<int>> futures;
    {
        cf::ProcessPoolExecutor ex(options(GetParam(), 2));
        for (int i = 0; i < 10; ++i) futures.push_back(ex.submit(&sleep_ms, 20 + i));
    }
    for (int i = 0; i < 10; ++i) {
        auto& f = futures[static_cast<std::size_t>(i)];
        ASSERT_TRUE(f.done()) << "call " << i << " not finished when the executor was gone";
        EXPECT_EQ(f.result(0s), 20 + i);
    }
}

TEST_P(ProcessCleanupTest, test_workers_gone_after_shutdown) {
    const cf::StartMethod method = GetParam();
    std::vector<pid_t> pids;
    {
        // Graceful: shutdown(wait=true) after work.
        cf::ProcessPoolExecutor ex(options(method, 3));
        std::vector<cf::Future<int>> fs;
        for (int i = 0; i < 6; ++i) fs.push_back(ex.submit(&sleep_ms, 50));
        for (auto& f : fs) EXPECT_EQ(f.result(kTimeout), 50);
        pids = ex.worker_pids();
        EXPECT_FALSE(pids.empty());
        ex.shutdown(true);
        EXPECT_TRUE(ex.worker_pids().empty());
        for (pid_t pid : pids) {
            errno = 0;
            EXPECT_EQ(::kill(pid, 0), -1) << "worker " << pid << " still exists after shutdown";
            EXPECT_EQ(errno, ESRCH);
        }
    }
    for (int variant = 0; variant < 3; ++variant) {
        // shutdown(wait=false) with a call running; kill_workers(); a broken pool.
        {
            cf::ProcessPoolExecutor ex(options(method, 2));
            auto running = ex.submit(&sleep_ms, variant == 0 ? 100 : 60'000);
            EXPECT_EQ(ex.submit(&identity, 1).result(kTimeout), 1);
            pids = ex.worker_pids();
            if (variant == 0) ex.shutdown(false);
            if (variant == 1) ex.kill_workers();
            if (variant == 2) {
                EXPECT_THROW(ex.submit(&crash).result(kTimeout), cf::BrokenProcessPool);
            }
        }
        for (pid_t pid : pids) {
            errno = 0;
            EXPECT_EQ(::kill(pid, 0), -1) << "variant " << variant << ": worker " << pid << " still exists";
            EXPECT_EQ(errno, ESRCH);
        }
    }
    EXPECT_EQ(zombie_children(), std::vector<pid_t>{});
}

TEST_P(ProcessCleanupTest, test_workers_die_with_the_program) {
    // A program holding a pool (one busy worker, one idle) is SIGKILLed: its workers,
    // and its fork server if any, must not outlive it.
    ChildProgram child("hold", GetParam());
    const std::string line = child.read_line();
    ASSERT_EQ(line.rfind("PIDS", 0), 0u) << "child said: " << line;
    const std::vector<pid_t> pids = parse_pids(line);
    ASSERT_GE(pids.size(), 2u) << line;
    for (pid_t pid : pids) ASSERT_TRUE(alive(pid)) << pid;
    ::kill(child.pid(), SIGKILL);
    child.wait();
    for (pid_t pid : pids) {
        // Generous: a machine busy with builds may take seconds to finish off a process.
        EXPECT_TRUE(cf_test::eventually([pid] { return !alive(pid); }, 30s))
            << "process " << pid << " outlived its program";
    }
}

TEST_P(ProcessCleanupTest, test_pool_fds_are_cloexec) {
    const auto before = open_fds();
    cf::ProcessPoolExecutor ex(options(GetParam(), 2));
    auto busy = ex.submit(&sleep_ms, 200);
    EXPECT_EQ(ex.submit(&identity, 3).result(kTimeout), 3);
    const auto during = open_fds();
    int opened = 0;
    for (const auto& [fd, target] : during) {
        if (before.count(fd)) continue;
        ++opened;
        const int flags = ::fcntl(fd, F_GETFD);
        EXPECT_TRUE(flags >= 0 && (flags & FD_CLOEXEC)) << "fd " << fd << " -> " << target << " is not close-on-exec";
    }
    // eventfd + epoll + per worker a socket and a pidfd (+ a fork server's socket).
    EXPECT_GE(opened, 6);
    EXPECT_EQ(busy.result(kTimeout), 200);
}

/// The number of sockets this process holds.
int socket_count() {
    int n = 0;
    for (const auto& [fd, target] : open_fds()) n += target.rfind("socket:", 0) == 0;
    return n;
}

TEST_P(ProcessCleanupTest, test_started_worker_holds_only_its_socket) {
    // Nothing leaks into a worker through exec or the fork server: it holds one socket.
    // (A Fork worker is a copy of the program and holds what the program held, as in Python.)
    if (GetParam() == cf::StartMethod::Fork) GTEST_SKIP() << "a forked worker inherits the program's descriptors";
    cf::ProcessPoolExecutor other(options(GetParam(), 2));  // more sockets in the program
    EXPECT_EQ(other.submit(&identity, 1).result(kTimeout), 1);
    cf::ProcessPoolExecutor ex(options(GetParam(), 2));
    auto busy = ex.submit(&sleep_ms, 200);
    EXPECT_EQ(ex.submit(&socket_count).result(kTimeout), 1);
    EXPECT_EQ(busy.result(kTimeout), 200);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessCleanupTest, cf_test::kAllStartMethods, cf_test::StartMethodName{});

}  // namespace cleanup_test
