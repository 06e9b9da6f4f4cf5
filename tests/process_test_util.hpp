// Helpers shared by the process pool test programs (test_process_*.cpp,
// test_serialization.cpp, test_deadlock.cpp): the start methods as a GoogleTest
// parameter with readable names, a serializable user type, a temporary directory
// per test, and events that cross a process boundary.
//
// A worker process shares no memory with the test, so the events are files in
// the test's temporary directory: a worker waits for a "gate" file that the
// test creates when it opens the gate, and reports that it got somewhere by
// appending a line to a file the test reads. Worker-side waits give up after
// kWorkerWait, so a failing test cannot leave a worker blocked for ever (and a
// shutdown(wait=true) hanging with it).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "executor_test_util.hpp"

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer sleeps 1 s at exit by default (atexit_sleep_ms), and ctest runs
// every test of these programs as a process of its own: that second would be most
// of their run time. TSAN_OPTIONS set by the environment still wins. Each test
// program is one translation unit, so this is defined once per program.
extern "C" const char* __tsan_default_options() { return "atexit_sleep_ms=0"; }
#endif

namespace cf {
/// Lets GoogleTest print the parameter of a failing test ("GetParam() = Spawn").
inline void PrintTo(StartMethod method, std::ostream* os) {
    switch (method) {
        case StartMethod::Fork: *os << "Fork"; return;
        case StartMethod::Spawn: *os << "Spawn"; return;
        case StartMethod::ForkServer: *os << "ForkServer"; return;
    }
    *os << "StartMethod(" << static_cast<int>(method) << ")";
}
}  // namespace cf

namespace cf_test {

using namespace std::chrono_literals;

/// Every start method: the values of the tests' parameter.
inline const auto kAllStartMethods =
    ::testing::Values(cf::StartMethod::Fork, cf::StartMethod::Spawn, cf::StartMethod::ForkServer);

/// INSTANTIATE_TEST_SUITE_P's name generator: ".../Fork", ".../Spawn", ".../ForkServer".
struct StartMethodName {
    std::string operator()(const ::testing::TestParamInfo<cf::StartMethod>& info) const {
        std::ostringstream os;
        cf::PrintTo(info.param, &os);
        return os.str();
    }
};

/// A test run once per start method (its parameter), with pools started that way.
class StartMethodTest : public ::testing::TestWithParam<cf::StartMethod> {
protected:
    /// The options of a pool of `max_workers` workers started by the test's method.
    cf::ProcessPoolOptions options(int max_workers = 2) const {
        cf::ProcessPoolOptions o;
        o.max_workers = max_workers;
        o.start_method = GetParam();
        return o;
    }
};

/// The options of a pool of `max_workers` workers started by `method`, no
/// initializer, and workers replaced after `max_tasks_per_child` calls if given.
inline cf::ProcessPoolOptions process_pool_options(cf::StartMethod method, int max_workers,
                                                   std::optional<int> max_tasks_per_child = std::nullopt) {
    return cf::ProcessPoolOptions{.max_workers = max_workers,
                                  .start_method = method,
                                  .initializer = {},
                                  .max_tasks_per_child = max_tasks_per_child};
}

/// A user type with a serialize() member, sent to a worker as an argument and
/// back as a result.
struct Point {
    int x = 0;
    int y = 0;
    template <class Archive>
    void serialize(Archive& a) {
        a(x, y);
    }
    bool operator==(const Point&) const = default;
};

/// How long a worker waits for an event before it gives up: far longer than any
/// test needs, short enough that a broken test ends.
inline constexpr auto kWorkerWait = 60s;

/// A fresh directory, removed with its contents at the end of the test.
class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "cfutures-test-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    /// The path of `name` inside the directory.
    [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

/// ExecutorMixin + ProcessPool{Fork,Forkserver,Spawn}Mixin of Python's tests: one
/// pool of worker_count workers per test, started by the test's method (its
/// parameter), shut down (wait=true) at the end, and a temporary directory for the
/// file events. A test lasting too long fails: it points to a synchronization issue.
class ProcessPoolTest : public ::testing::TestWithParam<cf::StartMethod> {
protected:
    static constexpr int worker_count = 2;

    void TearDown() override {
        executor.shutdown(/*wait=*/true);
        expect_test_not_too_long(t1);
    }

    [[nodiscard]] cf::StartMethod method() const { return GetParam(); }
    [[nodiscard]] bool is_fork() const { return method() == cf::StartMethod::Fork; }
    [[nodiscard]] cf::ProcessPoolOptions options(int max_workers,
                                                 std::optional<int> max_tasks_per_child = std::nullopt) const {
        return process_pool_options(method(), max_workers, max_tasks_per_child);
    }

    // The directory is made before the pool and removed after it.
    TempDir dir;
    std::chrono::steady_clock::time_point t1 = std::chrono::steady_clock::now();
    cf::ProcessPoolExecutor executor{options(worker_count)};
};

// ---- file events: usable in the test and in workers ---------------------------------

inline bool file_exists(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0;
}

/// Creates `path` (empty) if it does not exist: opens a gate.
inline void touch(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
}

/// Appends `line` and a newline to `path` in one write (O_APPEND: lines from
/// several processes do not mix).
inline void append_line(const std::string& path, const std::string& line) {
    const std::string text = line + "\n";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    [[maybe_unused]] const auto n = ::write(fd, text.data(), text.size());
    ::close(fd);
}

/// The complete lines of `path` (a line still being written is not counted); none if absent.
inline std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
        lines.push_back(text.substr(start, nl - start));
    return lines;
}

/// Waits until `path` exists; returns whether it did within `timeout`.
inline bool wait_for_file(const std::string& path, std::chrono::milliseconds timeout = kWorkerWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!file_exists(path)) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

/// Waits until `path` has at least `n` complete lines; returns whether it did within `timeout`.
inline bool wait_for_lines(const std::string& path, std::size_t n, std::chrono::milliseconds timeout = kLongWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (read_lines(path).size() < n) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

// ---- processes ---------------------------------------------------------------------

/// True while `pid` names a process, a zombie included; false once it has been reaped.
inline bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

/// Waits until `pid` has been reaped (by the pool's manager); returns whether it was within `timeout`.
inline bool wait_reaped(pid_t pid, std::chrono::milliseconds timeout = kLongWait) {
    return eventually([pid] { return !process_exists(pid); }, timeout);
}

/// The pid written after "worker " in a BrokenProcessPool message, or -1.
inline pid_t pid_in_message(const std::string& what) {
    const auto at = what.find("worker ");
    if (at == std::string::npos) return -1;
    return static_cast<pid_t>(std::atol(what.c_str() + at + 7));
}

/// Whether a sanitizer is built in: a worker it catches crashing then exits with a
/// code instead of dying by the signal.
inline constexpr bool kUnderSanitizer =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#else
    false;
#endif

}  // namespace cf_test
