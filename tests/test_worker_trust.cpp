// A worker is never trusted (docs/design.md, "What a worker can do to its parent"):
// tasks that misbehave as buggy native code does before it crashes, scribbling on the
// express lane's shared memory, writing garbage or forged frames on the worker's socket,
// returning bytes whose lengths lie, stopping themselves. Each test asserts that the
// caller's process lives, that every future ends within seconds (a value, an exception
// or BrokenProcessPool), that the pool's destructor returns, and that a new pool works.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>

#include "express_lane.hpp"  // the lane's layout, for the tasks that scribble on it
#include "process_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using cf_test::kAllStartMethods;
using cf_test::StartMethodName;

// ---- what a misbehaving task does, in the worker ---------------------------------------

/// This worker's express lane: the shared mapping of the memfd the pool sent, or null.
char* find_lane() {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        if (line.find("cfutures-express-lane") == std::string::npos) continue;
        return reinterpret_cast<char*>(std::stoull(line.substr(0, line.find('-')), nullptr, 16));
    }
    return nullptr;
}

/// Every socket this process has open (a worker's connection to its pool among them).
std::vector<int> socket_fds() {
    std::vector<int> fds;
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return fds;
    while (dirent* e = ::readdir(dir)) {
        char target[64] = {};
        const std::string path = std::string("/proc/self/fd/") + e->d_name;
        if (::readlink(path.c_str(), target, sizeof target - 1) > 0 && std::strncmp(target, "socket:", 7) == 0)
            fds.push_back(std::atoi(e->d_name));
    }
    ::closedir(dir);
    return fds;
}

void write_to_sockets(const std::string& bytes) {
    for (int fd : socket_fds()) [[maybe_unused]] const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

/// A frame as the wire carries it: 32-bit size, kind, three bytes of padding, 64-bit id.
std::string frame(std::uint8_t kind, std::uint64_t id, const std::string& payload) {
    std::string f(16, '\0');
    const auto size = static_cast<std::uint32_t>(payload.size());
    std::memcpy(f.data(), &size, 4);
    f[4] = static_cast<char>(kind);
    std::memcpy(f.data() + 8, &id, 8);
    return f + payload;
}

constexpr std::uint8_t kReplyKind = 11;
constexpr std::uint8_t kLaneDoneKind = 13;

int identity(int x) { return x; }

/// Starts a thread in the worker that writes random words over the lane's control words
/// (its first 256 bytes: phase, size, sequence, owner, the worker's sleeping flag) for
/// `millis` ms, as a task's stray thread with a wild pointer would. 1 if there is a lane.
int start_scribbler(int millis) {
    char* lane = find_lane();
    if (!lane) return 0;
    std::thread([lane, millis] {
        std::uint64_t x = 0x9e3779b97f4a7c15ULL ^ static_cast<std::uint64_t>(::getpid());
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(millis);
        while (std::chrono::steady_clock::now() < until) {
            for (int i = 0; i < 16; ++i) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                auto* word = reinterpret_cast<std::uint32_t*>(lane + (x % 64) * 4);
                __atomic_store_n(word, static_cast<std::uint32_t>(x >> 32), __ATOMIC_RELAXED);
            }
            std::this_thread::sleep_for(20us);
        }
    }).detach();
    return 1;
}

/// After this call's reply: a reply phase and a huge size forged in the (then empty) lane,
/// and a lane_done notice for it on the socket, by a child of the worker (it shares the
/// lane and the socket; a thread would do as well, but ThreadSanitizer ends a forked
/// worker that starts one). The child creates `done` when it is through.
int forge_reply_in_empty_lane(std::string done) {
    char* lane = find_lane();
    if (!lane) return 0;
    if (::fork() == 0) {
        std::this_thread::sleep_for(100ms);  // the real reply has been taken by then
        __atomic_store_n(reinterpret_cast<std::uint32_t*>(lane + 4), 0xfffffff0u, __ATOMIC_RELAXED);
        __atomic_store_n(reinterpret_cast<std::uint32_t*>(lane), 2u, __ATOMIC_SEQ_CST);  // REPLY
        // A notice naming the last lane call (this one): plausible, and stale.
        const auto* shared = reinterpret_cast<const cf::detail::express::Shared*>(lane);
        if (const std::uint64_t seq = shared->seq.load(); seq != 0) write_to_sockets(frame(kLaneDoneKind, seq, {}));
        cf_test::touch(done);
        ::_exit(0);
    }
    return 1;
}

/// A child of the worker holds the lane's `waiters` word non-zero for `millis` ms, as a
/// stray write that is never undone would (the word says a thread of the pool spins for
/// the reply, so the worker holds its notice back). Creates `started` once it holds it.
int pin_waiters(std::string started, int millis) {
    char* lane = find_lane();
    if (!lane) return 0;
    auto* shared = reinterpret_cast<cf::detail::express::Shared*>(lane);
    if (::fork() == 0) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(millis);
        shared->waiters.store(0x7fffffff, std::memory_order_seq_cst);
        cf_test::touch(started);
        while (std::chrono::steady_clock::now() < until) {
            shared->waiters.store(0x7fffffff, std::memory_order_seq_cst);
            std::this_thread::sleep_for(10us);
        }
        ::_exit(0);
    }
    return 1;
}

/// Sets the lane's phase word to `phase` while its own call is in it, then dies.
int scribble_phase_then_die(int phase) {
    if (char* lane = find_lane()) __atomic_store_n(reinterpret_cast<std::uint32_t*>(lane), static_cast<std::uint32_t>(phase), __ATOMIC_SEQ_CST);
    ::raise(SIGKILL);
    return 0;
}

/// Sets the lane's phase word to `phase` while its own call is in it, then returns 42.
int scribble_phase_then_return(int phase) {
    if (char* lane = find_lane()) __atomic_store_n(reinterpret_cast<std::uint32_t*>(lane), static_cast<std::uint32_t>(phase), __ATOMIC_SEQ_CST);
    return 42;
}

int write_garbage_on_socket(int) {
    write_to_sockets(std::string(64, '\xab'));
    return 1;
}

int forge_reply_frame(int) {
    write_to_sockets(frame(kReplyKind, 123456789, std::string(1, '\0')));
    return 1;
}

int forge_lane_notice_with_payload(int) {
    write_to_sockets(frame(kLaneDoneKind, 987654321, std::string(8, '\0')));
    return 1;
}

int stop_self(int) {
    ::raise(SIGSTOP);
    return 1;
}

/// A result whose bytes claim a string of 1 GiB and hold 8 bytes.
struct LengthLiar {
    template <class Archive>
    void save(Archive& a) const {
        a(cereal::make_size_tag(static_cast<cereal::size_type>(1) << 30));
        a(std::uint64_t{0});
    }
    template <class Archive>
    void load(Archive& a) {
        std::string s;
        a(s);
    }
};

LengthLiar lie_about_length(int) { return {}; }

// ---- the test's side -----------------------------------------------------------------

cf::ProcessPoolOptions pool_options(cf::StartMethod method, int workers) {
    return cf_test::process_pool_options(method, workers);
}

/// Round trips until a call has gone through the express lane (a pool's first calls go
/// through its manager, which then offers an idle worker's lane): at least 20, and until
/// one was running as its submit returned, which only a lane call is.
void warm_up(cf::ProcessPoolExecutor& ex) {
    bool through_lane = false;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    for (int i = 0; i < 20 || (!through_lane && std::chrono::steady_clock::now() < deadline); ++i) {
        auto f = ex.submit(&identity, i);
        through_lane = through_lane || f.running() || f.done();
        EXPECT_EQ(f.result(10s), i);
    }
    EXPECT_TRUE(through_lane) << "no call went through the express lane";
}

/// Waits for `f` to end, at most `limit`, whatever it ends with.
void wait_a_while(const cf::Future<int>& f, std::chrono::seconds limit) {
    try {
        static_cast<void>(f.exception(limit));
    } catch (const cf::Error&) {
    }
}

/// How a future ended: its value, or the type of what it threw. Fails the test if it
/// has not ended within `limit`.
template <class T>
std::string outcome(const cf::Future<T>& f, std::chrono::seconds limit = 20s) {
    try {
        f.result(limit);
        return "value";
    } catch (const cf::TimeoutError&) {
        ADD_FAILURE() << "a future did not end within " << limit.count() << " s: " << f;
        return "pending";
    } catch (const cf::BrokenProcessPool&) {
        return "broken";
    } catch (const std::exception& e) {
        return std::string("exception: ") + e.what();
    }
}

std::string broken_message(const cf::Future<int>& f) {
    try {
        f.result(20s);
    } catch (const cf::BrokenProcessPool& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("not BrokenProcessPool: ") + e.what();
    }
    return "no exception";
}

/// After an attack: a new pool of the same start method works.
void expect_new_pool_works(cf::StartMethod method) {
    cf::ProcessPoolExecutor ex(pool_options(method, 2));
    EXPECT_EQ(ex.submit(&identity, 7).result(20s), 7);
    auto results = ex.map(&identity, std::vector<int>{1, 2, 3});
    std::vector<int> got;
    for (int v : results) got.push_back(v);
    EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
}

long max_rss_kib() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

class WorkerTrustTest : public ::testing::TestWithParam<cf::StartMethod> {};

TEST_P(WorkerTrustTest, scribbled_lane_words_never_crash_the_caller_or_leave_a_future_pending) {
    {
        cf::ProcessPoolExecutor ex(pool_options(GetParam(), 1));
        warm_up(ex);
        // Its own reply may already be scribbled on: garbage (the pool breaks) or lost (the
        // worker's code took its own reply's phase away: a hung call, ended by the kill below).
        std::vector<cf::Future<int>> fs{ex.submit(&start_scribbler, 1500)};
        wait_a_while(fs.back(), 5s);
        const auto until = std::chrono::steady_clock::now() + 1500ms;
        for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
            try {
                fs.push_back(ex.submit(&identity, i));
                // Every third call nobody waits for: the manager must end it.
                if (i % 3 != 0) wait_a_while(fs.back(), 2s);
            } catch (const cf::BrokenProcessPool&) {
                break;  // the worker died of what it did: fine, as long as everything ends
            }
        }
        // A call whose CALL phase was scribbled away before the worker saw it stays with
        // its worker, as a hung call does: the pool cannot tell the two apart. Killing the
        // workers must end it, and every other future, whatever the lane says.
        std::this_thread::sleep_for(500ms);
        if (!cf::wait(fs, 2s).not_done.empty()) ex.kill_workers();
        for (const auto& f : fs) outcome(f);
    }  // the destructor returns
    expect_new_pool_works(GetParam());
}

TEST_P(WorkerTrustTest, a_reply_forged_in_an_empty_lane_is_ignored) {
    cf_test::TempDir dir;
    {
        cf::ProcessPoolExecutor ex(pool_options(GetParam(), 1));
        warm_up(ex);
        ASSERT_EQ(ex.submit(&forge_reply_in_empty_lane, dir.file("forged")).result(10s), 1);
        ASSERT_TRUE(cf_test::wait_for_file(dir.file("forged"), 20s));
        std::this_thread::sleep_for(50ms);  // the manager has read the notice
        for (int i = 0; i < 50; ++i) EXPECT_EQ(ex.submit(&identity, i).result(10s), i);
    }
    expect_new_pool_works(GetParam());
}

TEST_P(WorkerTrustTest, a_waiters_word_left_set_does_not_keep_a_reply_from_its_future) {
    cf_test::TempDir dir;
    cf::ProcessPoolExecutor ex(pool_options(GetParam(), 1));
    warm_up(ex);
    ASSERT_EQ(ex.submit(&pin_waiters, dir.file("pinned"), 3000).result(10s), 1);
    ASSERT_TRUE(cf_test::wait_for_file(dir.file("pinned"), 20s));
    for (int i = 0; i < 20; ++i) {
        // Nobody waits in result() (which would take the reply itself): the manager must
        // be told, though the word says a waiter spins.
        auto f = ex.submit(&identity, i);
        EXPECT_TRUE(cf_test::eventually([&] { return f.done(); }, 10s)) << "call " << i;
        EXPECT_EQ(f.result(0s), i);
    }
}

TEST_P(WorkerTrustTest, a_lane_call_whose_phase_word_is_scribbled_fails_when_its_worker_dies) {
    for (int phase : {0, 1, 2, 3, 4, 7, -1}) {
        SCOPED_TRACE("phase " + std::to_string(phase));
        cf::ProcessPoolExecutor ex(pool_options(GetParam(), 1));
        warm_up(ex);
        auto f = ex.submit(&scribble_phase_then_die, phase);
        const std::string got = outcome(f);
        // The forged phase may pass for a reply of garbage (a broken pool too): never pending.
        EXPECT_EQ(got, "broken");
    }
    expect_new_pool_works(GetParam());
}

TEST_P(WorkerTrustTest, a_worker_that_scribbles_its_phase_word_and_returns_is_answered) {
    cf::ProcessPoolExecutor ex(pool_options(GetParam(), 1));
    warm_up(ex);
    for (int phase : {0, 3, 4, 7}) EXPECT_EQ(ex.submit(&scribble_phase_then_return, phase).result(10s), 42);
    EXPECT_EQ(ex.submit(&identity, 5).result(10s), 5);
}

TEST_P(WorkerTrustTest, garbage_on_the_socket_breaks_the_pool_at_once_with_why) {
    for (bool through_lane : {false, true}) {
        SCOPED_TRACE(through_lane ? "after a lane call" : "first call");
        cf::ProcessPoolExecutor ex(pool_options(GetParam(), 1));
        if (through_lane) warm_up(ex);
        auto f = ex.submit(&write_garbage_on_socket, 0);
        std::vector<cf::Future<int>> others;
        for (int i = 0; i < 10; ++i) {
            try {
                others.push_back(ex.submit(&identity, i));
            } catch (const cf::BrokenProcessPool&) {
            }
        }
        const std::string got = outcome(f);
        if (got == "broken") {
            EXPECT_NE(broken_message(f).find("corrupt frame"), std::string::npos) << broken_message(f);
        }
        for (const auto& o : others) outcome(o);
        EXPECT_THROW(
            {
                ex.submit(&identity, 1).result(20s);
                ex.submit(&identity, 1).result(20s);
            },
            cf::BrokenProcessPool);
    }
    expect_new_pool_works(GetParam());
}

TEST_P(WorkerTrustTest, forged_frames_break_the_pool_with_why) {
    for (auto* attack : {&forge_reply_frame, &forge_lane_notice_with_payload}) {
        cf::ProcessPoolExecutor ex(pool_options(GetParam(), 1));
        warm_up(ex);
        auto f = ex.submit(attack, 0);
        outcome(f);  // its reply, or BrokenProcessPool if the forgery came first
        // The manager reads the forged frame a moment later at most: from then on the pool
        // is broken, and says why.
        std::string why;
        const bool broke = cf_test::eventually(
            [&] {
                try {
                    ex.submit(&identity, 1).result(20s);
                } catch (const cf::BrokenProcessPool& e) {
                    why = e.what();
                    return true;
                }
                return false;
            },
            20s);
        EXPECT_TRUE(broke);
        EXPECT_NE(why.find("corrupt frame"), std::string::npos) << why;
    }
    expect_new_pool_works(GetParam());
}

TEST_P(WorkerTrustTest, a_length_claim_beyond_the_reply_breaks_the_pool_without_allocating_it) {
    const long rss_before = max_rss_kib();
    for (bool through_lane : {false, true}) {
        SCOPED_TRACE(through_lane ? "express lane" : "socket");
        cf::ProcessPoolExecutor ex(pool_options(GetParam(), 1));
        if (through_lane) warm_up(ex);
        auto f = ex.submit(&lie_about_length, 0);
        try {
            f.result(20s);
            ADD_FAILURE() << "a reply claiming 1 GiB in 8 bytes was decoded";
        } catch (const cf::BrokenProcessPool& e) {
            EXPECT_NE(std::string(e.what()).find("could not be decoded"), std::string::npos) << e.what();
        }
    }
    // Decoding did not allocate (and zero) the gigabyte the bytes claimed.
    EXPECT_LT(max_rss_kib() - rss_before, 256L * 1024);
    expect_new_pool_works(GetParam());
}

TEST_P(WorkerTrustTest, calls_submitted_while_a_lane_reply_fails_to_decode_all_end) {
    cf::ProcessPoolExecutor ex(pool_options(GetParam(), 2));
    warm_up(ex);
    std::vector<cf::Future<int>> fs;
    std::atomic<bool> stop{false};
    std::thread submitter([&] {
        // Started after the workers (see process_test_util.hpp on Fork under TSan).
        while (!stop.load()) {
            try {
                fs.push_back(ex.submit(&identity, 1));
            } catch (const cf::BrokenProcessPool&) {
                return;
            }
        }
    });
    std::this_thread::sleep_for(20ms);
    auto liar = ex.submit(&lie_about_length, 0);
    EXPECT_THROW(liar.result(20s), cf::BrokenProcessPool);
    std::this_thread::sleep_for(20ms);
    stop = true;
    submitter.join();
    for (const auto& f : fs) outcome(f);
}

TEST_P(WorkerTrustTest, terminate_workers_ends_a_stopped_worker) {
    {
        cf::ProcessPoolExecutor ex(pool_options(GetParam(), 1));
        warm_up(ex);
        auto f = ex.submit(&stop_self, 0);
        const pid_t pid = ex.worker_pids().at(0);
        // Wait until it is stopped ('T' in /proc/<pid>/stat).
        ASSERT_TRUE(cf_test::eventually(
            [pid] {
                std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
                std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
                const auto close = text.rfind(')');
                return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'T';
            },
            20s));
        ex.terminate_workers();
        EXPECT_EQ(outcome(f), "broken");
    }  // the destructor returns
    expect_new_pool_works(GetParam());
}

INSTANTIATE_TEST_SUITE_P(StartMethod, WorkerTrustTest, kAllStartMethods, StartMethodName{});

// ---- is_worker_process() in a program's static initializers -----------------------------

TEST(IsWorkerProcessTest, a_static_initializer_that_prints_unless_in_a_worker_prints_once) {
    for (const char* method : {"spawn", "forkserver", "fork"}) {
        SCOPED_TRACE(method);
        const std::string command = std::string(CFUTURES_STATIC_INIT_PRINTER) + " " + method;
        FILE* out = ::popen(command.c_str(), "r");
        ASSERT_NE(out, nullptr);
        std::string text;
        char buf[256];
        while (std::fgets(buf, sizeof buf, out)) text += buf;
        const int status = ::pclose(out);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
        EXPECT_EQ(text, "the program's static initializer ran\n");
    }
}

// ---- fork() after using pools --------------------------------------------------------------

int say_hello(int method) {
    std::printf("hello from a worker started by method %d\n", method);
    std::fflush(stdout);
    return 1;
}

TEST(ForkSafetyTest, a_child_of_fork_uses_every_start_method_and_its_workers_write_to_its_stdout) {
#if defined(__SANITIZE_THREAD__)
    // ThreadSanitizer ends a child of a multi-threaded fork that starts threads
    // (die_after_fork), and its allocator is not fork-safe in GCC 12.
    GTEST_SKIP() << "fork() of a multi-threaded program under ThreadSanitizer";
#endif
    const std::vector<cf::StartMethod> methods = {cf::StartMethod::Fork, cf::StartMethod::Spawn,
                                                  cf::StartMethod::ForkServer};
    // The parent uses every start method first: its launcher thread and fork server exist.
    for (cf::StartMethod m : methods) {
        cf::ProcessPoolExecutor ex(pool_options(m, 1));
        ASSERT_EQ(ex.submit(&identity, 1).result(20s), 1);
    }
    cf_test::TempDir dir;
    const std::string child_out = dir.file("child-stdout");
    std::fflush(stdout);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        const int fd = ::open(child_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || ::dup2(fd, 1) < 0) ::_exit(100);
        int failures = 0;
        for (cf::StartMethod m : methods) {
            try {
                cf::ProcessPoolExecutor ex(pool_options(m, 1));
                if (ex.submit(&say_hello, static_cast<int>(m)).result(20s) != 1) ++failures;
            } catch (...) {
                ++failures;
            }
        }
        std::fflush(stdout);
        ::_exit(failures);
    }
    int status = 0;
    const bool ended = cf_test::eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 60s);
    if (!ended) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        FAIL() << "the child of fork() hung";
    }
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0) << "calls that failed in the child";
    const auto lines = cf_test::read_lines(child_out);
    EXPECT_EQ(lines.size(), methods.size());
    for (cf::StartMethod m : methods) {
        const std::string line = "hello from a worker started by method " + std::to_string(static_cast<int>(m));
        EXPECT_NE(std::find(lines.begin(), lines.end(), line), lines.end()) << line;
    }
}

}  // namespace
