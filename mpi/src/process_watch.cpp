// See process_watch.hpp.
#include "process_watch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

namespace cf::mpi::detail {

namespace {
/// The state letter and the start time (clock ticks after boot) of /proc/<pid>/stat.
struct StatLine {
    char state = '?';
    std::uint64_t start_time = 0;
};

/// The file's text, read with POSIX calls: a std::ifstream throws from its buffer when
/// read() fails, and /proc/<pid>/stat fails with ESRCH once the process is reaped.
/// `gone` tells that case (ENOENT, ESRCH) from others (EACCES, EMFILE, ...).
std::optional<std::string> read_proc_file(const std::string& path, bool& gone) {
    gone = false;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        gone = errno == ENOENT || errno == ESRCH;
        return std::nullopt;
    }
    std::string text;
    char buf[512];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0) text.append(buf, static_cast<std::size_t>(n));
    }
    const int read_errno = errno;
    ::close(fd);
    if (n < 0) {
        gone = read_errno == ESRCH;
        return std::nullopt;
    }
    return text;
}

std::optional<StatLine> read_stat(const std::string& pid, bool& gone) {
    const auto text = read_proc_file("/proc/" + pid + "/stat", gone);
    if (!text) return std::nullopt;
    const std::string& line = *text;
    const auto paren = line.rfind(')');  // the command name may hold spaces and ')'
    if (paren == std::string::npos) return std::nullopt;
    std::istringstream fields(line.substr(paren + 1));
    StatLine stat;
    fields >> stat.state;
    std::string skip;
    for (int field = 4; field < 22; ++field) fields >> skip;  // ppid .. priority, nice, ...
    fields >> stat.start_time;
    if (!fields) return std::nullopt;
    return stat;
}

std::string first_line(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string kernel_identity() {
    const std::string boot = first_line("/proc/sys/kernel/random/boot_id");
    char ns[128] = {};
    const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    if (boot.empty() || n <= 0) return {};  // no /proc: nothing to watch with
    return boot + "/" + std::string(ns, static_cast<std::size_t>(n));
}

std::string host_name() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
}
}  // namespace

ProcessId this_process() {
    ProcessId p;
    p.pid = static_cast<std::uint64_t>(::getpid());
    bool gone = false;
    if (const auto stat = read_stat("self", gone)) p.start_time = stat->start_time;
    p.host = host_name();
    p.kernel = kernel_identity();
    return p;
}

std::string encode_process_body(const ProcessId& p) {
    return std::to_string(p.start_time) + "\n" + p.host + "\n" + p.kernel;
}

ProcessId decode_process(std::uint64_t pid, std::string_view body) {
    ProcessId p;
    p.pid = pid;
    std::istringstream in{std::string(body)};
    std::string start;
    std::getline(in, start);
    std::getline(in, p.host);
    std::getline(in, p.kernel);
    p.start_time = std::strtoull(start.c_str(), nullptr, 10);
    return p;
}

bool watchable(const ProcessId& p) {
    static const ProcessId self = this_process();
    return p.pid > 0 && p.start_time > 0 && !p.kernel.empty() && p.host == self.host && p.kernel == self.kernel;
}

bool process_gone(const ProcessId& p) {
    // kill(pid, 0) is the cheap test, but it succeeds for a zombie (and for a new process
    // under the same pid): /proc/<pid>/stat tells those apart.
    if (::kill(static_cast<pid_t>(p.pid), 0) == -1 && errno == ESRCH) return true;
    bool gone = false;
    const auto stat = read_stat(std::to_string(p.pid), gone);
    if (!stat) return gone;  // otherwise unreadable: no proof of death
    return stat->state == 'Z' || stat->state == 'X' || stat->start_time != p.start_time;
}

}  // namespace cf::mpi::detail
