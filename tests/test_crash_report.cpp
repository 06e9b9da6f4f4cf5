// Crash reports (API.md "Beyond Python: crash diagnostics"): a worker that dies in
// a call names the call's function, its pid and its signal or exit code in the
// BrokenProcessPool of that call, with the stack at a fatal signal; an exception
// from a worker carries a nested cf::RemoteTraceback naming the function, the pid
// and the stack at the throw. Every case runs under each start method.
//
// Under ThreadSanitizer the worker's stack can come back without the frames
// below the signal (TSan runs a handler through its own dispatcher); the one
// sentence with the function, pid and signal holds in every build.
#include <signal.h>

#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>

#include "../src/process/crash_report.hpp"
#include "process_test_util.hpp"

// An address no program maps (the first page is never mapped), not null: a null store
// would be caught by UBSan's check before it faults.
static int* volatile g_bad_address = reinterpret_cast<int*>(64);
static volatile int g_stop_depth = -1;

[[gnu::noinline]] static int crash_in_static(int x) {
    *g_bad_address = x;  // SIGSEGV
    return x;
}

[[gnu::noinline]] static int overflow_stack(int depth) {
    volatile char frame[512];
    frame[0] = static_cast<char>(depth);
    if (depth == g_stop_depth) return 0;
    return overflow_stack(depth + 1) + frame[0];  // not a tail call: every frame stays
}

[[gnu::noinline]] static int abort_in_call(int) { std::abort(); }

[[gnu::noinline]] static int exit_in_call(int code) { std::exit(code); }

static int wait_for_gate(const std::string& gate) { return cf_test::wait_for_file(gate) ? 0 : 1; }

[[gnu::noinline]] static int throw_from_named(int x) { throw std::out_of_range("index " + std::to_string(x)); }

#if defined(__SANITIZE_ADDRESS__)
// A worker that calls exit() runs LeakSanitizer; a forked one holds the test's heap without
// the threads that own it, and LSan's verdict would replace the exit code under test.
extern "C" int __lsan_is_turned_off() { return cf::is_worker_process() ? 1 : 0; }
#endif

namespace {

using namespace cf_test;

/// The stack lines of a message: those after the "most recent call first:" line.
std::vector<std::string> stack_lines(const std::string& message) {
    std::vector<std::string> lines;
    const auto at = message.find("most recent call first:\n");
    if (at == std::string::npos) return lines;
    std::size_t start = message.find('\n', at) + 1;
    for (std::size_t nl; (nl = message.find('\n', start)) != std::string::npos; start = nl + 1)
        lines.push_back(message.substr(start, nl - start));
    if (start < message.size()) lines.push_back(message.substr(start));  // the last line has no newline
    return lines;
}

/// Whether one of the first `n` frames names `function`.
bool first_frames_name(const std::vector<std::string>& frames, const std::string& function, std::size_t n) {
    for (std::size_t i = 0; i < frames.size() && i < n; ++i) {
        if (contains(frames[i], function)) return true;
    }
    return false;
}

constexpr bool kUnderAsan =
#if defined(__SANITIZE_ADDRESS__)
    true;
#else
    false;
#endif

constexpr bool kUnderTsan =
#if defined(__SANITIZE_THREAD__)
    true;
#else
    false;
#endif

class CrashReportTest : public ProcessPoolTest {
protected:
    /// Runs `fn(arg)` in a pool of its own, expects the worker to die, and returns the
    /// BrokenProcessPool of the call.
    template <class F>
    cf::BrokenProcessPool crash_of(F fn, int arg) {
        cf::ProcessPoolExecutor ex(options(1));
        auto f = ex.submit(fn, arg);
        try {
            (void)f.result(kLongWait);
        } catch (const cf::BrokenProcessPool& e) {
            // A submit after the break throws the same: which worker ended, and how.
            try {
                (void)ex.submit(fn, arg);
                ADD_FAILURE() << "a submit to a broken pool was accepted";
            } catch (const cf::BrokenProcessPool& later) {
                EXPECT_EQ(later.pid(), e.pid());
                EXPECT_EQ(later.signal_number(), e.signal_number());
                EXPECT_EQ(later.exit_code(), e.exit_code());
                EXPECT_STREQ(later.what(), e.what());
            }
            return e;
        }
        ADD_FAILURE() << "the call did not break the pool";
        return cf::BrokenProcessPool("none");
    }

    /// The checks every crash by a signal shares: one sentence with pid, signal, function;
    /// then, outside ThreadSanitizer, the stack's first frames name `in_frames`.
    void expect_signal_report(const cf::BrokenProcessPool& e, int sig, const std::string& function,
                              const std::string& in_frames, std::size_t within) {
        const std::string msg = e.what();
        ASSERT_TRUE(e.pid().has_value()) << msg;
        EXPECT_EQ(e.signal_number(), std::optional<int>(sig)) << msg;
        EXPECT_FALSE(e.exit_code().has_value()) << msg;
        const std::string first_line = msg.substr(0, msg.find('\n'));
        const std::string sentence = "worker " + std::to_string(*e.pid()) + " was killed by " +
                                     cf::detail::signal_name(sig) + " while running ";
        EXPECT_TRUE(contains(first_line, sentence)) << msg;
        EXPECT_TRUE(contains(first_line.substr(first_line.find(" while running ")), function)) << msg;
        EXPECT_EQ(msg.find("terminated abruptly"), msg.rfind("terminated abruptly")) << "said twice: " << msg;
        const auto frames = stack_lines(msg);
        if (kUnderTsan && frames.size() <= 1) return;  // documented: TSan may cut the stack short
        EXPECT_TRUE(first_frames_name(frames, in_frames, within)) << msg;
        EXPECT_TRUE(wait_reaped(*e.pid())) << "the dead worker was not reaped";
    }
};

TEST_P(CrashReportTest, segfault_in_a_named_static_function) {
    const auto e = crash_of(&crash_in_static, 7);
    expect_signal_report(e, SIGSEGV, "crash_in_static(int)", "crash_in_static(int)", 1);
    // Where the program has line information (the tests are built with -g1 at least).
    EXPECT_TRUE(contains(e.what(), "test_crash_report.cpp:")) << e.what();
}

TEST_P(CrashReportTest, segfault_in_a_lambda) {
    const auto e = crash_of(
        [](int x) {
            *g_bad_address = x;
            return x;
        },
        3);
    // A lambda is named by its type; its frame is its operator().
    expect_signal_report(e, SIGSEGV, "{lambda(int)#1}", "{lambda(int)#1}", 2);
}

TEST_P(CrashReportTest, stack_overflow) {
    const auto e = crash_of(&overflow_stack, 0);
    // Under a sanitizer the stack may run out inside its runtime, called by the function:
    // under ASan up to four of its frames first (seen: GetCurrentThread, __tls_get_addr,
    // GetFakeStackFast, __asan_stack_malloc_4), under TSan its check of a read (seen:
    // __tsan_read4). Where the guard page is met moves with the size of the environment.
    expect_signal_report(e, SIGSEGV, "overflow_stack(int)", "overflow_stack(int)",
                         kUnderAsan ? 8 : kUnderTsan ? 4 : 1);
    const auto frames = stack_lines(e.what());
    EXPECT_LE(frames.size(), std::size_t{cf::detail::kCrashMaxFrames}) << "the report is bounded";
}

TEST_P(CrashReportTest, abort_in_a_call) {
    const auto e = crash_of(&abort_in_call, 1);
    // abort()'s own frames (raise, abort) come first.
    expect_signal_report(e, SIGABRT, "abort_in_call(int)", "abort_in_call(int)", 6);
}

TEST_P(CrashReportTest, exit_in_a_call_names_the_function_and_the_code) {
    const auto e = crash_of(&exit_in_call, 42);
    const std::string msg = e.what();
    ASSERT_TRUE(e.pid().has_value()) << msg;
    EXPECT_EQ(e.exit_code(), std::optional<int>(42)) << msg;
    EXPECT_FALSE(e.signal_number().has_value()) << msg;
    EXPECT_TRUE(contains(msg, "worker " + std::to_string(*e.pid()) + " exited with code 42 while running exit_in_call(int)"))
        << msg;
}

TEST_P(CrashReportTest, a_killed_worker_sets_pid_and_signal) {
    cf::ProcessPoolExecutor ex(options(1));
    auto gate = dir.file("gate");
    auto f = ex.submit(&wait_for_gate, gate);
    EXPECT_TRUE(eventually([&] { return !ex.worker_pids().empty(); }, kLongWait));
    const auto pids = ex.worker_pids();
    ASSERT_EQ(pids.size(), 1u);
    ::kill(pids[0], SIGKILL);
    try {
        (void)f.result(kLongWait);
        ADD_FAILURE() << "no BrokenProcessPool";
    } catch (const cf::BrokenProcessPool& e) {
        EXPECT_EQ(e.pid(), std::optional<int>(pids[0])) << e.what();
        EXPECT_EQ(e.signal_number(), std::optional<int>(SIGKILL)) << e.what();
        EXPECT_TRUE(contains(e.what(), "was killed by SIGKILL")) << e.what();
    }
}

TEST_P(CrashReportTest, a_throw_carries_a_nested_remote_traceback) {
    auto f = executor.submit(&throw_from_named, 5);
    try {
        (void)f.result(kLongWait);
        ADD_FAILURE() << "no exception";
    } catch (const std::out_of_range& e) {
        EXPECT_STREQ(e.what(), "index 5");
        std::string traceback;
        try {
            std::rethrow_if_nested(e);
            ADD_FAILURE() << "no nested exception";
        } catch (const cf::RemoteTraceback& tb) {
            traceback = tb.what();
        }
        EXPECT_TRUE(contains(traceback, "Traceback (worker process ")) << traceback;
        EXPECT_TRUE(contains(traceback, "in a call of throw_from_named(int) with arguments (int)")) << traceback;
        EXPECT_TRUE(contains(traceback, "std::out_of_range: index 5")) << traceback;
        // The stack at the throw: its first frame is the function that threw.
        const auto at = traceback.find("  #0 ");
        ASSERT_NE(at, std::string::npos) << traceback;
        EXPECT_TRUE(contains(traceback.substr(at, traceback.find('\n', at) - at), "throw_from_named(int)")) << traceback;
    }
}

TEST_P(CrashReportTest, remote_error_holds_the_same_traceback_as_its_nested_one) {
    struct Unregistered : std::runtime_error {
        using std::runtime_error::runtime_error;
    };
    auto f = executor.submit([](int x) -> int { throw Unregistered("lambda " + std::to_string(x)); }, 2);
    try {
        (void)f.result(kLongWait);
        ADD_FAILURE() << "no exception";
    } catch (const cf::RemoteError& e) {
        EXPECT_TRUE(contains(e.remote_traceback(), "{lambda(int)#")) << e.remote_traceback();
        try {
            std::rethrow_if_nested(e);
            ADD_FAILURE() << "no nested exception";
        } catch (const cf::RemoteTraceback& tb) {
            EXPECT_EQ(std::string(tb.what()), e.remote_traceback());
        }
    }
}

TEST_P(CrashReportTest, a_crash_in_a_map_chunk_names_the_function) {
    cf::ProcessPoolExecutor ex(options(1));
    std::string msg;
    try {
        for (int v : ex.map(&crash_in_static, std::vector<int>{1, 2, 3}, cf::MapOptions{.timeout = kLongWait, .chunksize = 3}))
            static_cast<void>(v);
        ADD_FAILURE() << "the map did not break the pool";
    } catch (const cf::BrokenProcessPool& e) {
        msg = e.what();
    }
    EXPECT_TRUE(contains(msg, "was killed by SIGSEGV while running crash_in_static(int)")) << msg;
}

TEST_P(CrashReportTest, a_throw_in_a_map_chunk_carries_its_traceback) {
    auto results = executor.map(&throw_from_named, std::vector<int>{4}, cf::MapOptions{.chunksize = 2});
    try {
        for (int v : results) static_cast<void>(v);
        ADD_FAILURE() << "no exception";
    } catch (const std::out_of_range& e) {
        try {
            std::rethrow_if_nested(e);
            ADD_FAILURE() << "no nested exception";
        } catch (const cf::RemoteTraceback& tb) {
            EXPECT_TRUE(contains(tb.what(), "throw_from_named(int) with arguments (int)")) << tb.what();
        }
    }
}

INSTANTIATE_TEST_SUITE_P(StartMethod, CrashReportTest, kAllStartMethods, StartMethodName{});

// ---- the report as untrusted bytes ---------------------------------------------------

TEST(CrashReportParsing, a_corrupt_or_foreign_report_says_only_what_the_wait_status_says) {
    const int killed_by_segv = SIGSEGV;  // a wait status for "killed by SIGSEGV" (no core dump)
    const std::vector<std::string> garbage = {
        std::string(3, 'x'),
        std::string(32, '\0'),
        std::string(4096, '\xff'),
        std::string("CFCR") + std::string(60, '\x01'),
    };
    for (const auto& bytes : garbage) {
        const auto end = cf::detail::describe_worker_end(123, killed_by_segv, "", bytes);
        EXPECT_EQ(end.text, "worker 123 was killed by SIGSEGV");
        EXPECT_EQ(end.signal_number, std::optional<int>(SIGSEGV));
        EXPECT_FALSE(end.exit_code.has_value());
    }
}

}  // namespace
