// Port of CPython's Lib/test/test_concurrent_futures/test_deadlock.py: a
// ProcessPoolExecutor must neither deadlock nor lose a call when something goes
// wrong at any stage of a call's trip, for every start method:
//
//   parent: encode the call ─► worker: decode ─► run ─► encode the result ─► parent: decode
//
// Python's pickling hooks (__reduce__) become cereal save()/load() members here;
// cf::is_worker_process() lets a type misbehave only in the worker or only in
// the parent. Python's "error" (an exception), "exit" (sys.exit) and "crash"
// (a segfault) map to: throwing, std::exit(1) (a C++ process really ends, so
// the pool breaks), and an invalid memory write. Python's SystemExit, an
// exception that is not an Exception, becomes a type not derived from
// std::exception (SystemExit below) in the *_system_exit cases.
//
// Every wait is bounded (kTimeout, and a watchdog that aborts the program), so
// a regression fails instead of hanging.
//
// Left out:
//  - the faulthandler traceback dump of _fail_on_deadlock (the watchdog and the
//    bounded waits report the deadlock instead);
//  - test_gh105829's mock of _ThreadWakeup: the wakeup here is a non-blocking
//    eventfd that cannot fill up; the test below stalls the manager thread
//    instead (as the mocked run() did) and checks that submit never blocks.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "executor_test_util.hpp"
#include "process_test_util.hpp"

using namespace std::chrono_literals;

namespace deadlock_test {

/// support.LONG_TIMEOUT, scaled down: a healthy pool answers in milliseconds.
constexpr auto kTimeout = 30s;

/// support.PIPE_MAX_SIZE: more than any pipe or socket buffer holds.
constexpr std::size_t kPipeMaxSize = 4 * 1024 * 1024 + 1;

// ---- Python's pickle.PicklingError / UnpicklingError / SystemExit -------------------

struct PicklingError : std::runtime_error {
    explicit PicklingError(const std::string& what) : std::runtime_error(what) {}
};
struct UnpicklingError : std::runtime_error {
    explicit UnpicklingError(const std::string& what) : std::runtime_error(what) {}
};
// Registered at static initialization, so every worker (the same program) knows them too.
static const bool kPicklingErrorRegistered = cf::register_exception<PicklingError>();
static const bool kUnpicklingErrorRegistered = cf::register_exception<UnpicklingError>();

/// Python's SystemExit: an exception outside the std::exception hierarchy.
struct SystemExit {
    int code = 1;
};

// ---- what the bad objects do ---------------------------------------------------

/// _crash(): a segfault. Core dumps are turned off first (CPython's SuppressCrashReport).
[[noreturn]] void crash() {
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    volatile std::uintptr_t address = 8;  // not null, so UBSan lets the write through to the MMU
    *reinterpret_cast<volatile int*>(address) = 42;
    std::abort();  // not reached
}

/// _exit(): sys.exit(1); in C++ the process ends.
[[noreturn]] void exit_process() { std::exit(1); }

// ---- the bad objects: cereal's save()/load() stand in for __reduce__ -----------------

/// Runs `misbehave` when encoded; decodes quietly.
template <void (*misbehave)()>
struct MisbehavesAtPickle {
    template <class Archive>
    void save(Archive&) const {
        misbehave();
    }
    template <class Archive>
    void load(Archive&) {}
};

/// Encodes quietly; runs `misbehave` when decoded.
template <void (*misbehave)()>
struct MisbehavesAtUnpickle {
    template <class Archive>
    void save(Archive&) const {}
    template <class Archive>
    void load(Archive&) {
        misbehave();
    }
};

// Crashing or exiting is done in a worker only: in the parent it would end the test
// program itself.
void crash_in_worker() {
    if (cf::is_worker_process()) crash();
}
void exit_in_worker() {
    if (cf::is_worker_process()) exit_process();
}
/// In the parent, where exiting would end the test program, raises SystemExit as
/// Python's sys.exit() does.
void exit_in_worker_else_system_exit() {
    exit_in_worker();
    throw SystemExit{1};
}
void throw_system_exit() { throw SystemExit{1}; }
void throw_pickling_error() { throw PicklingError("Error in pickle"); }
void throw_unpickling_error() { throw UnpicklingError("Error in unpickle"); }

/// Segfaults when encoded in a worker (as a result).
using CrashAtPickle = MisbehavesAtPickle<&crash_in_worker>;
/// Segfaults when decoded in a worker (as an argument).
using CrashAtUnpickle = MisbehavesAtUnpickle<&crash_in_worker>;
/// Exits when encoded in a worker (as a result).
using ExitAtPickle = MisbehavesAtPickle<&exit_in_worker>;
/// Exits when decoded in a worker; raises SystemExit when decoded in the parent.
using ExitAtUnpickle = MisbehavesAtUnpickle<&exit_in_worker_else_system_exit>;
/// Raises SystemExit (not a std::exception) when encoded.
using SystemExitAtPickle = MisbehavesAtPickle<&throw_system_exit>;
/// Raises PicklingError when encoded, in whichever process that is.
using ErrorAtPickle = MisbehavesAtPickle<&throw_pickling_error>;
/// Raises UnpicklingError when decoded, in whichever process that is.
using ErrorAtUnpickle = MisbehavesAtUnpickle<&throw_unpickling_error>;

// ---- the functions the workers run -------------------------------------------------

/// Python's id(): any function of the object will do.
template <class T>
int id(T) {
    return 7;
}

int identity(int x) { return x; }

int crash_task() { crash(); }

int crash_after(int delay_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    crash();
}

int crash_with_data(const std::string& data) {
    (void)data;
    crash();
}

int abort_task() {
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    std::abort();
}

int exit_task() { exit_process(); }

int raise_system_exit() { throw SystemExit{1}; }

int raise_runtime_error() { throw std::runtime_error("RuntimeError in the worker"); }

template <class T>
T return_instance() {
    return T{};
}

int sleep_then(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
}

// ---- the fixture ----------------------------------------------------------------------

/// Whether `what` says "worker <pid> <tail>", where '#' in `tail` stands for a number.
/// (No std::regex: GCC 12 warns inside it under the sanitizers.)
bool says_worker(const std::string& what, const std::string& tail) {
    const auto digits_at = [&](std::size_t i) {
        std::size_t j = i;
        while (j < what.size() && std::isdigit(static_cast<unsigned char>(what[j]))) ++j;
        return j;
    };
    for (auto at = what.find("worker "); at != std::string::npos; at = what.find("worker ", at + 1)) {
        std::size_t i = at + 7;
        std::size_t end = digits_at(i);
        if (end == i || end >= what.size() || what[end] != ' ') continue;
        i = end + 1;
        bool ok = true;
        for (char c : tail) {
            if (c == '#') {
                end = digits_at(i);
                ok = end > i;
                i = end;
            } else {
                ok = i < what.size() && what[i] == c;
                ++i;
            }
            if (!ok) break;
        }
        if (ok && (i >= what.size() || !std::isdigit(static_cast<unsigned char>(what[i])))) return true;
    }
    return false;
}

/// Whether `what` says a worker died of `signal_name`, or, under a sanitizer (which
/// reports the crash itself), that it exited with a code.
bool says_crashed(const std::string& what, const char* signal_name) {
    return says_worker(what, std::string("was killed by ") + signal_name) ||
           (cf_test::kUnderSanitizer && says_worker(what, "exited with code #"));
}

/// Whether `what` says a worker called exit(1) (LeakSanitizer may change the code).
bool says_exited(const std::string& what) {
    return says_worker(what, cf_test::kUnderSanitizer ? "exited with code #" : "exited with code 1");
}

class ExecutorDeadlockTest : public cf_test::StartMethodTest {
protected:
    /// res.result(timeout=TIMEOUT) must raise an `Error`: returns its what(). A timeout
    /// is a deadlock (_fail_on_deadlock): the workers are killed so the test can end.
    template <class Error, class R>
    std::string expect_error(cf::ProcessPoolExecutor& executor, cf::Future<R> res) {
        try {
            res.result(kTimeout);
        } catch (const cf::TimeoutError&) {
            executor.kill_workers();
            ADD_FAILURE() << "Executor deadlock: no outcome within " << kTimeout.count() << " s";
            return {};
        } catch (const Error& e) {
            return e.what();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "expected " << cf::detail::demangle(typeid(Error)) << ", got "
                          << cf::detail::demangle(typeid(e)) << ": " << e.what();
            return {};
        } catch (...) {
            ADD_FAILURE() << "expected " << cf::detail::demangle(typeid(Error)) << ", got a non-std exception";
            return {};
        }
        ADD_FAILURE() << "expected " << cf::detail::demangle(typeid(Error)) << ", the call succeeded";
        return {};
    }

    /// _check_error: a fresh pool of two runs fn(args...), which must fail with `Error`.
    /// Returns its what(). With BrokenProcessPool, later submits must throw it too.
    template <class Error, class Fn, class... Args>
    std::string check_error(Fn fn, Args&&... args) {
        cf::ProcessPoolExecutor executor(options());
        auto res = executor.submit(fn, std::forward<Args>(args)...);
        std::string what = expect_error<Error>(executor, res);
        if constexpr (std::is_same_v<Error, cf::BrokenProcessPool>) {
            EXPECT_THROW(executor.submit(&identity, 1), cf::BrokenProcessPool);
        }
        executor.shutdown(true);
        return what;
    }

    /// The pool survived: a later call runs, on the same workers as before.
    static void expect_pool_alive(cf::ProcessPoolExecutor& executor) {
        const std::vector<pid_t> before = executor.worker_pids();
        EXPECT_EQ(executor.submit(&identity, 41).result(kTimeout), 41);
        const std::vector<pid_t> after = executor.worker_pids();
        for (pid_t pid : before) {
            EXPECT_NE(std::find(after.begin(), after.end(), pid), after.end()) << "worker " << pid << " was replaced";
        }
    }

    /// The type_name() of the cf::RemoteError that `res` must fail with: an exception
    /// outside the std::exception hierarchy (SystemExit) comes back as one.
    template <class R>
    static std::string remote_type_of(cf::Future<R> res) {
        try {
            res.result(kTimeout);
        } catch (const cf::RemoteError& e) {
            return e.type_name();
        }
        ADD_FAILURE() << "no exception";
        return {};
    }

    cf_test::DeadlockWatchdog watchdog_{::testing::UnitTest::GetInstance()->current_test_info()->name(), 100s};
};

// ---- error at task pickle (parent side) ----------------------------------------------

TEST_P(ExecutorDeadlockTest, test_error_at_task_pickle) {
    // Check problem occurring while pickling a task: encoding happens in submit(),
    // which throws; the pool lives on.
    cf::ProcessPoolExecutor executor(options());
    EXPECT_EQ(executor.submit(&identity, 1).result(kTimeout), 1);
    EXPECT_THROW((void)executor.submit(&id<ErrorAtPickle>, ErrorAtPickle{}), PicklingError);
    expect_pool_alive(executor);
}

TEST_P(ExecutorDeadlockTest, test_error_at_task_pickle_in_map) {
    // The same through map(): the encoding error reaches the caller, the pool lives on.
    cf::ProcessPoolExecutor executor(options());
    EXPECT_THROW(
        {
            auto results = executor.map(&id<ErrorAtPickle>, std::vector<ErrorAtPickle>(3));
            for (int v : results) (void)v;
        },
        PicklingError);
    expect_pool_alive(executor);
}

// ---- task unpickle (worker side): the pool breaks -------------------------------------

TEST_P(ExecutorDeadlockTest, test_exit_at_task_unpickle) {
    // Check problem occurring while unpickling a task on workers.
    const std::string what = check_error<cf::BrokenProcessPool>(&id<ExitAtUnpickle>, ExitAtUnpickle{});
    EXPECT_TRUE(says_exited(what)) << what;
}

TEST_P(ExecutorDeadlockTest, test_error_at_task_unpickle) {
    // Check problem occurring while unpickling a task on workers: the worker reports
    // the error and exits.
    const std::string what = check_error<cf::BrokenProcessPool>(&id<ErrorAtUnpickle>, ErrorAtUnpickle{});
    EXPECT_TRUE(cf_test::contains(what, "could not decode a call")) << what;
    EXPECT_TRUE(cf_test::contains(what, "UnpicklingError")) << what;
    EXPECT_TRUE(cf_test::contains(what, "Error in unpickle")) << what;
}

TEST_P(ExecutorDeadlockTest, test_crash_at_task_unpickle) {
    // Check problem occurring while unpickling a task on workers.
    const std::string what = check_error<cf::BrokenProcessPool>(&id<CrashAtUnpickle>, CrashAtUnpickle{});
    EXPECT_TRUE(says_crashed(what, "SIGSEGV")) << what;
}

// ---- func exec on worker ----------------------------------------------------------------

TEST_P(ExecutorDeadlockTest, test_crash_during_func_exec_on_worker) {
    // Check problem occurring during func execution on workers.
    const std::string what = check_error<cf::BrokenProcessPool>(&crash_task);
    EXPECT_TRUE(says_crashed(what, "SIGSEGV")) << what;
}

TEST_P(ExecutorDeadlockTest, test_abort_during_func_exec_on_worker) {
    // Not in CPython: std::abort() (SIGABRT) in the worker.
    const std::string what = check_error<cf::BrokenProcessPool>(&abort_task);
    EXPECT_TRUE(says_crashed(what, "SIGABRT")) << what;
}

TEST_P(ExecutorDeadlockTest, test_exit_during_func_exec_on_worker) {
    // exit(1) in the call: the worker process is gone, so the pool breaks and says how.
    const std::string what = check_error<cf::BrokenProcessPool>(&exit_task);
    EXPECT_TRUE(says_exited(what)) << what;
}

TEST_P(ExecutorDeadlockTest, test_exit_during_func_exec_on_worker_system_exit) {
    // Python's SystemExit comes back from the future; here an exception outside the
    // std::exception hierarchy comes back as a RemoteError naming its type.
    cf::ProcessPoolExecutor executor(options());
    EXPECT_EQ(remote_type_of(executor.submit(&raise_system_exit)), "deadlock_test::SystemExit");
    expect_pool_alive(executor);
}

TEST_P(ExecutorDeadlockTest, test_error_during_func_exec_on_worker) {
    // Check problem occurring during func execution on workers.
    const std::string what = check_error<std::runtime_error>(&raise_runtime_error);
    EXPECT_EQ(what, "RuntimeError in the worker");
}

// ---- result pickle (worker side) ----------------------------------------------------------

TEST_P(ExecutorDeadlockTest, test_crash_during_result_pickle_on_worker) {
    // Check problem occurring while pickling a task result on workers.
    const std::string what = check_error<cf::BrokenProcessPool>(&return_instance<CrashAtPickle>);
    EXPECT_TRUE(says_crashed(what, "SIGSEGV")) << what;
}

TEST_P(ExecutorDeadlockTest, test_exit_during_result_pickle_on_worker) {
    // exit(1) while encoding the result: the worker is gone, the pool breaks.
    const std::string what = check_error<cf::BrokenProcessPool>(&return_instance<ExitAtPickle>);
    EXPECT_TRUE(says_exited(what)) << what;
}

TEST_P(ExecutorDeadlockTest, test_exit_during_result_pickle_on_worker_system_exit) {
    // Python: SystemExit raised while pickling the result comes back from the future.
    // Here: a non-std exception thrown by save() fails only that future; the worker lives.
    cf::ProcessPoolExecutor executor(options());
    EXPECT_EQ(remote_type_of(executor.submit(&return_instance<SystemExitAtPickle>)), "deadlock_test::SystemExit");
    expect_pool_alive(executor);
}

TEST_P(ExecutorDeadlockTest, test_error_during_result_pickle_on_worker) {
    // Check problem occurring while pickling a task result on workers: only that
    // future fails, with the encoder's exception, and the worker lives on.
    cf::ProcessPoolExecutor executor(options());
    auto res = executor.submit(&return_instance<ErrorAtPickle>);
    EXPECT_EQ(expect_error<PicklingError>(executor, res), "Error in pickle");
    expect_pool_alive(executor);
    // And again, on a warm worker, among successful calls.
    auto a = executor.submit(&identity, 1);
    auto b = executor.submit(&return_instance<ErrorAtPickle>);
    auto c = executor.submit(&identity, 3);
    EXPECT_EQ(a.result(kTimeout), 1);
    EXPECT_THROW(b.result(kTimeout), PicklingError);
    EXPECT_EQ(c.result(kTimeout), 3);
}

/// A shared value, then a part that fails to encode when `fail` is set: encoding
/// stops half-way, after the shared pointer has been written.
struct SharedThenPicky {
    std::shared_ptr<int> shared;
    bool fail = false;
    template <class Archive>
    void save(Archive& a) const {
        a(shared);
        if (fail) throw PicklingError("Error in pickle, half-way");
        a(fail);
    }
    template <class Archive>
    void load(Archive& a) {
        a(shared, fail);
    }
};

SharedThenPicky shared_then_picky(int i) {
    static const auto shared = std::make_shared<int>(42);  // one pointer, shared by items 3 to 6
    return SharedThenPicky{i < 3 ? nullptr : shared, i == 3};
}

TEST_P(ExecutorDeadlockTest, result_pickle_error_half_way_through_a_chunk_fails_that_item_only) {
    // A map() chunk's outcomes leave the worker in one message. An item whose encoding
    // fails half-way is cut from it; the items after it still arrive whole, although
    // the cut item was the first to write the pointer they share.
    cf::ProcessPoolExecutor executor(options());
    auto results = executor.map(&shared_then_picky, std::vector<int>{0, 1, 2, 3, 4, 5, 6},
                                cf::MapOptions{.timeout = {}, .chunksize = 7, .buffersize = {}});
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(cf_test::py_next(results).shared);
    try {
        cf_test::py_next(results);
        ADD_FAILURE() << "item 3 should fail to encode";
    } catch (const PicklingError& e) {
        EXPECT_STREQ(e.what(), "Error in pickle, half-way");
    }
    for (int i = 4; i < 7; ++i) {
        const SharedThenPicky item = cf_test::py_next(results);
        ASSERT_TRUE(item.shared) << "item " << i;
        EXPECT_EQ(*item.shared, 42);
    }
    EXPECT_THROW(cf_test::py_next(results), cf_test::StopIteration);
    expect_pool_alive(executor);
}

// ---- result unpickle (parent side): the pool breaks ----------------------------------------

TEST_P(ExecutorDeadlockTest, test_error_during_result_unpickle_in_result_handler) {
    // Check problem occurring while unpickling a task in the result handler (the
    // manager thread here).
    const std::string what = check_error<cf::BrokenProcessPool>(&return_instance<ErrorAtUnpickle>);
    EXPECT_TRUE(cf_test::contains(what, "could not be decoded")) << what;
    EXPECT_TRUE(cf_test::contains(what, "Error in unpickle")) << what;
}

TEST_P(ExecutorDeadlockTest, test_exit_during_result_unpickle_in_result_handler) {
    // ExitAtUnpickle raises SystemExit (not a std::exception) in the parent's manager
    // thread: the pool breaks, the program does not terminate.
    const std::string what = check_error<cf::BrokenProcessPool>(&return_instance<ExitAtUnpickle>);
    EXPECT_TRUE(cf_test::contains(what, "could not be decoded")) << what;
    EXPECT_TRUE(cf_test::contains(what, "SystemExit")) << what;
}

TEST_P(ExecutorDeadlockTest, test_error_during_result_unpickle_fails_other_futures) {
    // Not in CPython: every unfinished future fails, and none hangs.
    cf::ProcessPoolExecutor executor(options());
    std::vector<cf::Future<int>> slow;
    for (int i = 0; i < 4; ++i) slow.push_back(executor.submit(&sleep_then, 150));
    auto bad = executor.submit(&return_instance<ErrorAtUnpickle>);
    expect_error<cf::BrokenProcessPool>(executor, bad);
    for (auto& f : slow) {
        try {
            f.result(kTimeout);  // finished before the break, or failed by it
        } catch (const cf::BrokenProcessPool&) {
        } catch (const std::exception& e) {
            ADD_FAILURE() << "unexpected: " << e.what();
        }
    }
}

// ---- shutdown --------------------------------------------------------------------------------

TEST_P(ExecutorDeadlockTest, test_shutdown_deadlock) {
    // Test that the pool calling shutdown do not cause deadlock if a worker fails
    // after the shutdown call.
    cf::ProcessPoolExecutor executor(options());
    auto f = executor.submit(&crash_after, 100);
    executor.shutdown(true);
    EXPECT_TRUE(f.done());
    EXPECT_THROW(f.result(0s), cf::BrokenProcessPool);
}

TEST_P(ExecutorDeadlockTest, test_shutdown_nowait_deadlock) {
    // Not in CPython: the same with shutdown(wait=false), and the destructor must not hang.
    cf::Future<int> f;
    {
        cf::ProcessPoolExecutor executor(options());
        f = executor.submit(&crash_after, 100);
        executor.shutdown(false);
    }
    EXPECT_TRUE(f.done());
    EXPECT_THROW(f.result(0s), cf::BrokenProcessPool);
}

/// How many of this process's threads are process pool managers (named cfutures-mgr).
int manager_thread_count() {
    int n = 0;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        std::getline(comm, name);
        n += name == "cfutures-mgr";
    }
    return n;
}

TEST_P(ExecutorDeadlockTest, test_shutdown_deadlock_pickle) {
    // Test that the pool calling shutdown with wait=False does not cause a deadlock
    // if a task fails at pickle after the shutdown call (bpo-39104).
    {
        cf::ProcessPoolExecutor executor(options());
        // Start the executor and its manager thread.
        EXPECT_EQ(executor.submit(&identity, 42).result(kTimeout), 42);
        EXPECT_EQ(manager_thread_count(), 1);
        // A task that fails at pickle (in submit, here), then shutdown without waiting.
        EXPECT_THROW((void)executor.submit(&id<ErrorAtPickle>, ErrorAtPickle{}), PicklingError);
        executor.shutdown(false);
    }
    // The executor is eventually shut down and leaves no dangling manager thread.
    EXPECT_TRUE(cf_test::eventually([] { return manager_thread_count() == 0; }, 10s));
}

// ---- big data ---------------------------------------------------------------------------------

TEST_P(ExecutorDeadlockTest, test_crash_big_data) {
    // Test that there is a clean exception instead of a deadlock when a child process
    // crashes while some data is being written into the socket (gh-94777).
    // Ten calls as in CPython; four under ThreadSanitizer, whose memcpy is slow (two per
    // worker are still sent at once, so the manager is writing when a worker dies).
    const std::size_t calls = cf_test::kUnderTsan ? 4 : 10;
    const std::string data(kPipeMaxSize, 'a');
    {
        cf::ProcessPoolExecutor executor(options());
        EXPECT_THROW(
            {
                auto results = executor.map(&crash_with_data, std::vector<std::string>(calls, data));
                for (int v : results) (void)v;
            },
            cf::BrokenProcessPool);
        executor.shutdown(true);
    }
}

// ---- gh-105829 ----------------------------------------------------------------------------------

TEST_P(ExecutorDeadlockTest, test_gh105829_should_not_deadlock_if_wakeup_pipe_full) {
    // Issue #105829: the manager thread's wakeup channel could fill up and block
    // submit(). Python delays the manager's start by 3 s; here a done callback (which
    // runs on the manager thread) holds the manager while 100 jobs are submitted.
    cf_test::Gate manager_held, release_manager;  // outlive the executor, whose manager uses them
    cf::ProcessPoolExecutor executor(options());
    const auto main_thread = std::this_thread::get_id();
    auto first = executor.submit(&sleep_then, 200);
    first.add_done_callback([&](const cf::Future<int>&) {
        if (std::this_thread::get_id() == main_thread) return;  // already done: ran inline
        manager_held.open();
        release_manager.wait_for(5s);
    });
    const bool held = manager_held.wait_for(kTimeout);
    constexpr int job_num = 100;
    std::vector<int> job_data(job_num);
    for (int i = 0; i < job_num; ++i) job_data[static_cast<std::size_t>(i)] = i;
    std::vector<cf::Future<int>> singles;
    const auto start = std::chrono::steady_clock::now();
    auto results = executor.map(&identity, job_data);
    for (int i = 0; i < job_num; ++i) singles.push_back(executor.submit(&identity, i));
    const auto submit_time = std::chrono::steady_clock::now() - start;
    release_manager.open();
    if (held) {
        EXPECT_LT(submit_time, 4s) << "submit blocked while the manager thread was busy";
    }
    EXPECT_EQ(static_cast<int>(results.to_vector().size()), job_num);
    for (int i = 0; i < job_num; ++i) EXPECT_EQ(singles[static_cast<std::size_t>(i)].result(kTimeout), i);
    EXPECT_EQ(first.result(kTimeout), 200);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ExecutorDeadlockTest,
                         cf_test::kAllStartMethods, cf_test::StartMethodName{});

}  // namespace deadlock_test
