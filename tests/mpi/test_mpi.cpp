// The MPI executors' contract (API.md, "MPI executor"), run in each of the three
// ways to start: the contracts every executor passes (executor_contract.hpp,
// wait_contract.hpp, as_completed_contract.hpp, map_unordered_contract.hpp) and what
// only the MPI executors have. One program; the mode is its first argument, and CTest runs it
// (tests/mpi/CMakeLists.txt) as:
//
//   test_mpi --mode=spawn                                   dynamic: spawns its workers
//   mpiexec -n 1 test_mpi --mode=spawn                      the same under mpiexec
//   CFUTURES_MPI_POOL=1 mpiexec -n 3 test_mpi --mode=world  ranks 1, 2 serve rank 0
//   mpiexec -n 3 test_mpi --mode=comm                       SPMD: MPICommExecutor on every rank
//
// In comm mode only rank 0 runs the GoogleTest cases. The other ranks wait in
// main for the root to announce each executor (a broadcast), then construct
// their MPICommExecutor, which serves calls until the root's executor shuts down
// and returns with `if (ex)` false. Every executor a case makes goes through
// make_executor(), so the ranks construct exactly as many executors as the root.
//
// `test_mpi --probe-death=<kill|exit|abort> --mode=...` runs no test: it makes a
// worker die during a call and prints what the root sees (docs/mpi.md); in spawn
// mode it then destroys the executor and returns 0 from main, which the case
// MPIWorkerDeathTest.program_exits_normally_after_a_worker_died checks.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "../as_completed_contract.hpp"
#include "../executor_contract.hpp"
#include "../map_unordered_contract.hpp"
#include "../wait_contract.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <numeric>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <stop_token>
#include <thread>
#include <vector>

#include <cfutures/cfutures.hpp>
#include <cfutures/detail/type_name.hpp>
#include <cfutures/mpi.hpp>

#include "executor_test_util.hpp"

using namespace std::chrono_literals;
using cf_test::what_of;

// ---- what the workers run (the same program, so function pointers travel) --------------

namespace {

int add(int a, int b) { return a + b; }
int square(int x) { return x * x; }
std::string echo(std::string s) { return s; }
long worker_pid() { return static_cast<long>(::getpid()); }

/// Sleeps `ms` milliseconds, then returns `value`.
int sleep_then(int ms, int value) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return value;
}

/// Sleeps `ms` milliseconds, then returns this worker's pid.
long sleep_then_pid(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return worker_pid();
}

std::string host_name() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
}

int throw_out_of_range(int x) { throw std::out_of_range("index " + std::to_string(x)); }
int throw_invalid_argument() { throw std::invalid_argument("bad argument"); }
int throw_cf_timeout() { throw cf::TimeoutError("raised by the callable"); }
int throw_int() { throw 42; }

/// Not registered: comes back as cf::RemoteError.
struct UnregisteredError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
int throw_unregistered() { throw UnregisteredError("nobody knows me"); }

/// Registered during static initialization, in the root and every worker alike.
struct RegisteredError : std::runtime_error {
    explicit RegisteredError(const std::string& what) : std::runtime_error(what) {}
};
const bool registered_error = cf::register_exception<RegisteredError>();
int throw_registered() { throw RegisteredError("known everywhere"); }

/// A type whose save() throws: encoding it fails in whichever process encodes it.
struct SaveFails {
    bool fail = true;
    int value = 0;
    template <class Archive>
    void save(Archive& a) const {
        if (fail) throw std::runtime_error("SaveFails cannot be saved");
        a(fail, value);
    }
    template <class Archive>
    void load(Archive& a) {
        a(fail, value);
    }
};
int take_save_fails(SaveFails s) { return s.value; }
/// Its result cannot be encoded in the worker when `fail`.
SaveFails make_save_fails(bool fail, int value) { return SaveFails{fail, value}; }
/// In a chunk: the result at `bad` cannot be encoded.
SaveFails save_fails_at(int x, int bad) { return SaveFails{x == bad, x}; }

// The worker's state that initializers set.
int g_init_value = 0;
int init_value() { return g_init_value; }

/// An initializer with state: cereal carries it to each worker.
struct SetValue {
    int value = 0;
    std::string path;  // where each worker appends its pid
    void operator()() const {
        g_init_value = value;
        std::ofstream(path, std::ios::app) << ::getpid() << '\n';
    }
    template <class Archive>
    void serialize(Archive& a) {
        a(value, path);
    }
};

void failing_initializer() { throw std::runtime_error("initializer failed on purpose"); }

// Worker deaths (docs/mpi.md; --probe-death and the MPIWorkerDeathTest cases).
/// Sleeps `ms` milliseconds, then dies by `how`: "kill" (SIGKILL), "exit" (_exit(1)) or "abort".
int die_after(int ms, std::string how) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    if (how == "exit") ::_exit(1);
    if (how == "abort") std::abort();
    ::raise(SIGKILL);
    return 0;
}

}  // namespace

// ---- the three modes ------------------------------------------------------------------------

namespace {

enum class Mode { spawn, world, comm };
Mode g_mode = Mode::spawn;
constexpr int kWorkers = 2;  // spawn: max_workers; world and comm: mpiexec -n 3

// Comm mode: what the root broadcasts to the serving ranks.
constexpr int kCommServe = 1;
constexpr int kCommStop = 0;
constexpr int kCommIntercomm = 2;  // comm_executor_on_an_intercommunicator() on every rank

/// The exit status when MPI_Comm_spawn hangs: tests/mpi/retry.cmake runs the program
/// again, skipping the cases the progress file lists as passed.
constexpr int kSpawnHungExit = 75;

/// Set by the first failed assertion: a later spawn hang must not turn the failure into
/// a retry that skips the failed case's verdict.
std::atomic<bool> g_a_test_failed{false};

/// The status to leave with when a spawn hangs: kSpawnHungExit, or 1 once a case failed.
int spawn_hung_status() {
    if (!g_a_test_failed.load()) return kSpawnHungExit;
    std::fprintf(stderr, "test_mpi: a case failed before the spawn hang; not asking for a retry\n");
    return 1;
}

/// `--progress-file=<path>`: each case that passes or is skipped appends its full name,
/// one a line, written at once, so a run the watchdog ends still leaves the list behind.
class ProgressRecorder : public ::testing::EmptyTestEventListener {
public:
    explicit ProgressRecorder(std::string path) : path_(std::move(path)) {}
    void OnTestPartResult(const ::testing::TestPartResult& result) override {
        if (result.failed()) g_a_test_failed.store(true);
    }
    void OnTestEnd(const ::testing::TestInfo& info) override {
        if (!info.result()->Passed() && !info.result()->Skipped()) return;
        const std::string line = std::string(info.test_suite_name()) + "." + info.name() + "\n";
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) return;
        [[maybe_unused]] const ssize_t n = ::write(fd, line.data(), line.size());
        ::close(fd);
    }

private:
    std::string path_;
};

/// Started by mpiexec (world, comm, and spawn under `mpiexec -n 1`) rather than alone.
bool g_under_mpiexec = false;

/// Ends the program with `status`, saying what hung, unless destroyed within `seconds`:
/// a guard around waits that cannot be interrupted.
class Watchdog {
public:
    Watchdog(double seconds, std::string what, int status) {
        thread_ = std::thread([this, seconds, what = std::move(what), status] {
            std::unique_lock lk(mutex_);
            if (!cv_.wait_for(lk, std::chrono::duration<double>(seconds), [this] { return done_; })) {
                std::fprintf(stderr, "test_mpi: %s has not returned after %.0f s\n", what.c_str(), seconds);
                const int exit_status = status == kSpawnHungExit ? spawn_hung_status() : status;
                std::fprintf(stderr, "test_mpi: exiting with status %d\n", exit_status);
                std::fflush(stderr);
                ::_exit(exit_status);
            }
        });
    }
    ~Watchdog() {
        {
            std::lock_guard g(mutex_);
            done_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

/// Open MPI 4.1 with an external PMIx 4 (Debian 12's packages) hangs in about one
/// MPI_Comm_spawn out of 50, in PMIx_Lookup or PMIx_Spawn (openpmix/openpmix#2735,
/// reproduced here with a plain C loop, see docs/mpi.md). No MPI call can be
/// interrupted, so a spawn that takes far longer than usual (1-7 s here) ends the
/// program with kSpawnHungExit, and CTest's driver (retry.cmake) runs the cases left.
double spawn_timeout_seconds() {
    const char* env = std::getenv("CFUTURES_TEST_SPAWN_TIMEOUT");
    return env ? std::atof(env) : 30.0;
}

/// An MPIPoolExecutor that spawns `max_workers`, under the watchdog.
std::unique_ptr<cf::mpi::MPIPoolExecutor> spawn_executor(int max_workers, cf::RemoteInitializer initializer = {}) {
    Watchdog watchdog(spawn_timeout_seconds(), "MPI_Comm_spawn (the Open MPI 4.1 / PMIx 4 spawn hang, docs/mpi.md)",
                      kSpawnHungExit);
    return std::make_unique<cf::mpi::MPIPoolExecutor>(
        cf::mpi::MPIPoolOptions{.max_workers = max_workers, .initializer = std::move(initializer)});
}

/// A new executor for this mode (the only way the cases make one).
std::unique_ptr<cf::mpi::MPIPoolExecutor> make_executor(cf::RemoteInitializer initializer = {}) {
    switch (g_mode) {
        case Mode::spawn:
            return spawn_executor(kWorkers, std::move(initializer));
        case Mode::world:
            return std::make_unique<cf::mpi::MPIPoolExecutor>(
                cf::mpi::MPIPoolOptions{.initializer = std::move(initializer)});
        case Mode::comm: {
            int command = kCommServe;
            MPI_Bcast(&command, 1, MPI_INT, 0, MPI_COMM_WORLD);
            auto ex = std::make_unique<cf::mpi::MPICommExecutor>(MPI_COMM_WORLD, 0, std::move(initializer));
            if (!*ex) throw std::logic_error("MPICommExecutor is false on the root");
            return ex;
        }
    }
    return nullptr;
}

/// Spawn mode shares one executor between the cases that leave it usable (spawning
/// takes a while); world and comm modes have one worker set, so one executor at a time.
std::unique_ptr<cf::mpi::MPIPoolExecutor> g_shared;

class MPIExecutorTest : public ::testing::Test {
protected:
    /// An executor for cases that don't shut it down.
    cf::mpi::MPIPoolExecutor& ex() {
        if (g_mode == Mode::spawn) {
            if (!g_shared) g_shared = make_executor();
            return *g_shared;
        }
        if (!own_) own_ = make_executor();
        return *own_;
    }
    void TearDown() override { own_.reset(); }

private:
    std::unique_ptr<cf::mpi::MPIPoolExecutor> own_;
};

/// A fresh temporary file path, removed at the end of the case.
class TempFile {
public:
    TempFile() {
        std::string pattern = (std::filesystem::temp_directory_path() / "cfutures-mpi-XXXXXX").string();
        const int fd = ::mkstemp(pattern.data());
        if (fd >= 0) ::close(fd);
        path_ = pattern;
    }
    ~TempFile() { std::filesystem::remove(path_); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::vector<std::string> lines() const {
        std::ifstream in(path_);
        std::vector<std::string> out;
        for (std::string line; std::getline(in, line);) out.push_back(line);
        return out;
    }

private:
    std::string path_;
};

/// The contracts' harness (contract_util.hpp): the MPI executor of this mode. In spawn
/// mode executor() is the one the cases share and own_executor() spawns one for the
/// case; in world and comm modes both are the case's own, made on first use.
struct MPIHarness {
    using Executor = cf::mpi::MPIPoolExecutor;
    static constexpr const char* name = "MPI";
    static constexpr int worker_count = kWorkers;
    static constexpr bool remote = true;

    Executor& executor() {
        if (g_mode == Mode::spawn) {
            if (!g_shared) g_shared = ::make_executor();
            return *g_shared;
        }
        return own_executor();
    }
    Executor& own_executor() {
        if (!own_) own_ = ::make_executor();
        return *own_;
    }
    std::unique_ptr<Executor> make_executor() { return ::make_executor(); }
    static void construct_with_max_workers(int n) { Executor e(cf::mpi::MPIPoolOptions{.max_workers = n}); }
    void tear_down() { own_.reset(); }

private:
    std::unique_ptr<Executor> own_;
};

}  // namespace

// ---- the contracts every executor passes ------------------------------------------------------

// ExecutorTest/ExecutorTest/MPI.*, WaitTests/WaitTests/MPI.*, AsCompletedTests/AsCompletedTests/MPI.*:
// executor_contract.hpp, wait_contract.hpp and as_completed_contract.hpp, as the thread and
// process pools run them (test_executor.cpp, test_wait.cpp, test_as_completed.cpp).
INSTANTIATE_TYPED_TEST_SUITE_P(ExecutorTest, ExecutorTest, MPIHarness, cf_contract::HarnessName);
INSTANTIATE_TYPED_TEST_SUITE_P(WaitTests, WaitTests, MPIHarness, cf_contract::HarnessName);
INSTANTIATE_TYPED_TEST_SUITE_P(AsCompletedTests, AsCompletedTests, MPIHarness, cf_contract::HarnessName);

// ---- construction ---------------------------------------------------------------------------

TEST_F(MPIExecutorTest, num_workers) { EXPECT_EQ(ex().num_workers(), kWorkers); }

// mpi4py.futures: num_workers is 0 once the workers are gone.
TEST(MPIShutdownTest, num_workers_is_zero_after_shutdown) {
    auto ex = make_executor();
    EXPECT_EQ(ex->submit(&add, 1, 2).result(), 3);
    EXPECT_EQ(ex->num_workers(), kWorkers);
    ex->shutdown(/*wait=*/true);
    EXPECT_EQ(ex->num_workers(), 0);
}

// ---- submit ---------------------------------------------------------------------------------

// ---- then (API.md, "Beyond Python: composing and awaiting futures") ----------------------

TEST_F(MPIExecutorTest, then_on_futures_it_completes_and_then_on_the_executor) {
    std::thread::id ran_in;
    // The call sleeps so that then() surely finds it pending: on a done future, then() runs
    // fn at once in the calling thread (as add_done_callback does).
    auto g = ex().submit(&sleep_then, 300, 36).then([&](int v) {
        ran_in = std::this_thread::get_id();
        return v + 1;
    });
    EXPECT_EQ(g.result(), 37);
    EXPECT_NE(ran_in, std::this_thread::get_id());  // the manager thread that completed the call
    // then(ex, fn): fn and the value travel to a worker; errors are carried, not run on.
    EXPECT_EQ(ex().submit(&square, 2).then(ex(), &square).then(ex(), &square).result(), 256);
    auto failed = ex().submit(&throw_out_of_range, 1).then(ex(), &square);
    EXPECT_THROW(failed.result(), std::out_of_range);
    auto all = cf::when_all(std::vector{ex().submit(&square, 3), ex().submit(&square, 4)});
    EXPECT_EQ(all.result().at(1).result(), 16);
}

// ---- stopping calls (API.md, "Beyond Python: stopping calls") ------------------------------

TEST_F(MPIExecutorTest, a_call_timeout_fails_the_future_while_its_rank_runs_it_to_its_end) {
    auto slow = ex().submit(cf::CallOptions{.timeout = 200ms}, &sleep_then, 1500, 1);
    try {
        slow.result(30s);
        ADD_FAILURE() << "no TimeoutError";
    } catch (const cf::TimeoutError& e) {
        EXPECT_NE(std::string(e.what()).find("the call ran longer than its limit of 200 ms"), std::string::npos)
            << e.what();
    }
    // The executor lives on; the rank that ran the slow call takes calls again once it returned.
    std::vector<cf::Future<int>> after;
    for (int i = 0; i < 4 * kWorkers; ++i) after.push_back(ex().submit(&sleep_then, 0, i));
    for (int i = 0; i < 4 * kWorkers; ++i) EXPECT_EQ(after[static_cast<std::size_t>(i)].result(30s), i);
    EXPECT_EQ(ex().submit(cf::CallOptions{.timeout = 10s}, &square, 5).result(30s), 25);
    EXPECT_THROW(ex().submit(cf::CallOptions{.timeout = 0ms}, &square, 5), std::invalid_argument);
}

TEST_F(MPIExecutorTest, request_stop_cancels_a_pending_call_and_cannot_stop_a_running_one) {
    auto running = ex().submit(&sleep_then, 300, 1);
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(running.request_stop());  // a rank runs a call to its end
    EXPECT_EQ(running.result(30s), 1);
    cf::Future<int> never;  // no executor runs it: as cancel()
    EXPECT_TRUE(never.request_stop());
}

/// Runs until its token is asked to stop (30 s at most: a bug, not a hang), then returns n.
int run_until_stopped(std::stop_token token, int n) {
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (!token.stop_requested() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
    return token.stop_requested() ? n : -1;
}

TEST_F(MPIExecutorTest, request_stop_asks_the_token_of_a_running_call_that_takes_one) {
    auto f = ex().submit(&run_until_stopped, 9);
    std::this_thread::sleep_for(200ms);  // begun on its rank
    EXPECT_TRUE(f.request_stop());
    EXPECT_EQ(f.result(30s), 9);  // the future ends as the call does
    // A timeout asks the token too; the rank is free again soon after.
    auto g = ex().submit(cf::CallOptions{.timeout = 100ms}, &run_until_stopped, 1);
    EXPECT_THROW(g.result(30s), cf::TimeoutError);
    std::vector<int> xs{1, 2};
    std::vector<int> got;
    for (int v : ex().map([](std::stop_token t, int x) { return t.stop_requested() ? -x : x; }, xs)) got.push_back(v);
    EXPECT_EQ(got, xs);
}

TEST_F(MPIExecutorTest, submit_large_arguments_and_results) {
    std::string big(4 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); i += 4093) big[i] = static_cast<char>('a' + i % 26);
    EXPECT_EQ(ex().submit(&echo, big).result(), big);
}

// Calls and replies travel in batches of up to 60 KiB: calls of every size around that
// limit, submitted together, each come back whole and to their own future.
TEST_F(MPIExecutorTest, calls_of_mixed_sizes_batched_together_keep_their_bytes) {
    std::vector<std::string> args;
    for (std::size_t size : {0, 1, 20'000, 61'000, 200'000, 7, 30'000, 30'000, 59'000}) {
        for (int copy = 0; copy < 3; ++copy) {
            std::string s(size, 'x');
            for (std::size_t i = 0; i < s.size(); i += 97) s[i] = static_cast<char>('a' + (i + args.size()) % 26);
            args.push_back(std::move(s));
        }
    }
    std::vector<cf::Future<std::string>> fs;
    for (const auto& a : args) fs.push_back(ex().submit(&echo, a));
    for (std::size_t i = 0; i < args.size(); ++i) EXPECT_EQ(fs[i].result(), args[i]) << "call " << i;
    EXPECT_EQ(ex().map(&echo, args, cf::MapOptions{.chunksize = 4}).to_vector(), args);
}

TEST_F(MPIExecutorTest, calls_run_in_other_processes_on_every_worker) {
    std::vector<cf::Future<long>> fs;
    for (int i = 0; i < 4 * kWorkers; ++i) fs.push_back(ex().submit(&sleep_then_pid, 100));
    std::set<long> pids;
    for (auto& f : fs) pids.insert(f.result());
    EXPECT_EQ(pids.count(static_cast<long>(::getpid())), 0u);
    EXPECT_EQ(pids.size(), static_cast<std::size_t>(kWorkers));
}

// tests/mpi/multihost.sh sets CFUTURES_TEST_EXPECT_HOSTS: the root and its workers
// must then span that many hosts (host names).
TEST_F(MPIExecutorTest, workers_hosts) {
    std::vector<cf::Future<std::string>> fs;
    for (int i = 0; i < 4 * kWorkers; ++i) fs.push_back(ex().submit(&host_name));
    std::set<std::string> hosts{host_name()};
    std::string list = host_name() + " (root)";
    for (auto& f : fs) {
        if (hosts.insert(f.result()).second) list += ", " + f.result();
    }
    RecordProperty("hosts", list);
    std::printf("hosts: %s\n", list.c_str());
    if (const char* expect = std::getenv("CFUTURES_TEST_EXPECT_HOSTS")) {
        EXPECT_EQ(hosts.size(), static_cast<std::size_t>(std::atoi(expect))) << list;
    }
}

TEST_F(MPIExecutorTest, many_small_calls) {
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 2000; ++i) fs.push_back(ex().submit(&square, i));
    for (int i = 0; i < 2000; ++i) ASSERT_EQ(fs[static_cast<std::size_t>(i)].result(), i * i);
}

// ---- map ------------------------------------------------------------------------------------

// A finished reply leaves within about 50 us, whatever call follows it in the worker's
// batch (src/worker_runtime/reply_courier.hpp): sleep 0, sleep 0, sleep 3 s must not
// hold the first results for 3 s.
TEST_F(MPIExecutorTest, finished_replies_leave_while_a_slow_call_of_their_batch_runs) {
    constexpr int kSlowMs = 3000;
    auto& pool = ex();
    // Every worker is up and has served a call first: no start-up is part of the time the
    // fast replies below are given.
    std::vector<cf::Future<int>> first;
    for (int i = 0; i < kWorkers; ++i) first.push_back(pool.submit(&sleep_then, 0, i));
    for (int i = 0; i < kWorkers; ++i) ASSERT_EQ(first[i].result(30s), i);
    // Replies keep coming, so the burst below reaches the workers in few batches.
    std::vector<cf::Future<int>> warm;
    for (int i = 0; i < 300; ++i) warm.push_back(pool.submit(&sleep_then, 0, i));
    std::vector<cf::Future<int>> fast;
    for (int i = 0; i < 20; ++i) fast.push_back(pool.submit(&sleep_then, 0, i));
    std::vector<cf::Future<int>> slow;
    for (int i = 0; i < kWorkers; ++i) slow.push_back(pool.submit(&sleep_then, kSlowMs, -1));
    const auto submitted = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) EXPECT_EQ(fast[i].result(2s), i) << "a finished reply waited behind a slow call";
    EXPECT_LT(std::chrono::steady_clock::now() - submitted, std::chrono::milliseconds(kSlowMs));
    for (auto& f : slow) EXPECT_EQ(f.result(30s), -1);
    for (int i = 0; i < 300; ++i) EXPECT_EQ(warm[i].result(30s), i);
}

// ---- map_unordered --------------------------------------------------------------------------

// The contract every process-based executor passes (tests/map_unordered_contract.hpp).
CF_MAP_UNORDERED_CASES(TEST_F, MPIExecutorTest, ex())

// ---- exceptions -----------------------------------------------------------------------------

TEST_F(MPIExecutorTest, exceptions_keep_their_type_and_what) {
    EXPECT_EQ(what_of<std::out_of_range>(ex().submit(&throw_out_of_range, 7)), "index 7");
    EXPECT_EQ(what_of<std::invalid_argument>(ex().submit(&throw_invalid_argument)), "bad argument");
    EXPECT_EQ(what_of<cf::TimeoutError>(ex().submit(&throw_cf_timeout)), "raised by the callable");
    EXPECT_EQ(what_of<RegisteredError>(ex().submit(&throw_registered)), "known everywhere");
}

TEST_F(MPIExecutorTest, a_rebuilt_exception_carries_a_nested_remote_traceback) {
    try {
        (void)ex().submit(&throw_out_of_range, 3).result();
        ADD_FAILURE() << "no exception";
    } catch (const std::out_of_range& e) {
        try {
            std::rethrow_if_nested(e);
            ADD_FAILURE() << "no nested traceback";
        } catch (const cf::RemoteTraceback& tb) {
            const std::string text = tb.what();
            EXPECT_NE(text.find("Traceback (worker process "), std::string::npos) << text;
            EXPECT_NE(text.find("throw_out_of_range(int) with arguments (int)"), std::string::npos) << text;
            // The stack at the throw: its first frame is the function that threw.
            const auto at = text.find("  #0 ");
            ASSERT_NE(at, std::string::npos) << text;
            EXPECT_NE(text.substr(at, text.find('\n', at) - at).find("throw_out_of_range(int)"), std::string::npos) << text;
        }
    }
}

TEST_F(MPIExecutorTest, unknown_exception_types_become_remote_error) {
    try {
        (void)ex().submit(&throw_unregistered).result();
        ADD_FAILURE() << "no exception";
    } catch (const cf::RemoteError& e) {
        EXPECT_STREQ(e.what(), "nobody knows me");
        EXPECT_NE(e.type_name().find("UnregisteredError"), std::string::npos) << e.type_name();
    }
    try {
        (void)ex().submit(&throw_int).result();
        ADD_FAILURE() << "no exception";
    } catch (const cf::RemoteError& e) {
        EXPECT_EQ(e.type_name(), "int");
    }
}

TEST_F(MPIExecutorTest, a_call_that_throws_never_brings_the_job_down) {
    std::vector<cf::Future<int>> failing;
    for (int i = 0; i < 50; ++i) {
        failing.push_back(i % 2 ? ex().submit(&throw_int) : ex().submit(&throw_out_of_range, i));
    }
    for (auto& f : failing) EXPECT_NE(f.exception(), nullptr);
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(ex().submit(&add, i, 1));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(), i + 1);
}

// ---- serialization errors -------------------------------------------------------------------

TEST_F(MPIExecutorTest, argument_that_cannot_be_encoded_fails_submit_only) {
    try {
        (void)ex().submit(&take_save_fails, SaveFails{true, 1});
        ADD_FAILURE() << "submit did not throw";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "SaveFails cannot be saved");
        EXPECT_EQ(dynamic_cast<const cf::BrokenExecutor*>(&e), nullptr);
    }
    EXPECT_EQ(ex().submit(&take_save_fails, SaveFails{false, 9}).result(), 9);
    EXPECT_EQ(ex().submit(&add, 1, 2).result(), 3);
}

TEST_F(MPIExecutorTest, result_that_cannot_be_encoded_fails_that_future_only) {
    auto bad = ex().submit(&make_save_fails, true, 1);
    auto good = ex().submit(&make_save_fails, false, 2);
    try {
        (void)bad.result();
        ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "SaveFails cannot be saved");
        EXPECT_EQ(dynamic_cast<const cf::BrokenExecutor*>(&e), nullptr);
    }
    EXPECT_EQ(good.result().value, 2);
    // In a chunk, only that position fails.
    auto results = ex().map(&save_fails_at, std::views::iota(0, 8), std::vector<int>(8, 5),
                            cf::MapOptions{.chunksize = 8});
    int position = 0;
    for (auto it = results.begin(); it != results.end(); ++it, ++position) {
        if (position == 5) {
            EXPECT_THROW((void)*it, std::runtime_error);
        } else {
            EXPECT_EQ((*it).value, position);
        }
    }
    EXPECT_EQ(position, 8);
    EXPECT_EQ(ex().submit(&add, 1, 2).result(), 3);
}

// ---- initializer ----------------------------------------------------------------------------

TEST(MPIInitializerTest, runs_in_each_worker_before_calls) {
    TempFile file;
    const int value = 1000 + static_cast<int>(::getpid() % 1000);
    auto ex = make_executor(SetValue{value, file.path()});
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 4 * kWorkers; ++i) fs.push_back(ex->submit(&init_value));
    for (auto& f : fs) EXPECT_EQ(f.result(), value);
    ex->shutdown();
    // Each worker ran it once (the goodbye of each worker comes after its initializer).
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (file.lines().size() < static_cast<std::size_t>(kWorkers) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    const auto lines = file.lines();
    EXPECT_EQ(lines.size(), static_cast<std::size_t>(kWorkers));
    EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(), lines.size());
}

TEST(MPIInitializerTest, failing_initializer_breaks_the_executor) {
    auto ex = make_executor(&failing_initializer);
    std::vector<cf::Future<int>> fs;
    try {
        for (int i = 0; i < 4; ++i) fs.push_back(ex->submit(&add, i, i));
    } catch (const cf::BrokenExecutor&) {
        // Broken already: later submits throw, as checked below.
    }
    for (auto& f : fs) {
        try {
            (void)f.result(30s);
            ADD_FAILURE() << "a pending future succeeded";
        } catch (const cf::BrokenExecutor& e) {
            EXPECT_NE(std::string(e.what()).find("initializer"), std::string::npos) << e.what();
        }
    }
    // Broken for good.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    bool broken = false;
    while (!broken && std::chrono::steady_clock::now() < deadline) {
        try {
            (void)ex->submit(&add, 1, 1);
            std::this_thread::sleep_for(10ms);
        } catch (const cf::BrokenExecutor&) {
            broken = true;
        }
    }
    EXPECT_TRUE(broken) << "submit never threw BrokenExecutor";
    EXPECT_THROW((void)ex->map(&square, std::vector{1, 2}), cf::BrokenExecutor);
}

// World mode: the same ranks serve the next executor, which must see nothing of the
// broken one (late error reports, replies of abandoned calls).
TEST_F(MPIExecutorTest, an_executor_after_a_broken_one_works) {
    {
        auto broken = make_executor(&failing_initializer);
        // The initializer may have failed already, then submit itself throws.
        EXPECT_THROW((void)broken->submit(&sleep_then, 50, 1).result(30s), cf::BrokenExecutor);
    }
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(ex().submit(&add, i, 100));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(30s), i + 100);
}

// ---- shutdown -------------------------------------------------------------------------------

// ---- mode-specific --------------------------------------------------------------------------

TEST_F(MPIExecutorTest, spawn_executors_can_live_side_by_side) {
    if (g_mode != Mode::spawn) GTEST_SKIP() << "spawn mode only";
    auto& a = ex();
    auto b = spawn_executor(1);
    EXPECT_EQ(b->num_workers(), 1);
    std::vector<cf::Future<long>> fa;
    for (int i = 0; i < 2 * kWorkers; ++i) fa.push_back(a.submit(&sleep_then_pid, 20));
    auto fb = b->submit(&worker_pid);
    const long b_pid = fb.result();
    for (auto& f : fa) EXPECT_NE(f.result(), b_pid);
}

TEST(MPIModeTest, world_pool_serves_one_executor_at_a_time) {
    if (g_mode != Mode::world) GTEST_SKIP() << "world mode only";
    {
        cf::mpi::MPIPoolExecutor a;
        EXPECT_EQ(a.num_workers(), kWorkers);
        EXPECT_THROW({ cf::mpi::MPIPoolExecutor b; }, std::runtime_error);
        EXPECT_EQ(a.submit(&add, 1, 1).result(), 2);
    }
    cf::mpi::MPIPoolExecutor one(cf::mpi::MPIPoolOptions{.max_workers = 1});
    EXPECT_EQ(one.num_workers(), 1);
    std::vector<cf::Future<long>> fs;
    for (int i = 0; i < 4; ++i) fs.push_back(one.submit(&sleep_then_pid, 20));
    std::set<long> pids;
    for (auto& f : fs) pids.insert(f.result());
    EXPECT_EQ(pids.size(), 1u);
}

TEST(MPIModeTest, comm_executor_rejects_a_communicator_without_workers_or_root) {
    if (g_mode != Mode::comm) GTEST_SKIP() << "comm mode only";
    // MPI_COMM_SELF involves the root alone: nothing to wait for on the other ranks.
    EXPECT_THROW(cf::mpi::MPICommExecutor(MPI_COMM_SELF, 0), std::invalid_argument);
    EXPECT_THROW(cf::mpi::MPICommExecutor(MPI_COMM_SELF, 1), std::invalid_argument);
    EXPECT_THROW(cf::mpi::MPICommExecutor(MPI_COMM_SELF, -1), std::invalid_argument);
    EXPECT_THROW(cf::mpi::MPICommExecutor(MPI_COMM_NULL, 0), std::invalid_argument);
}

/// Every rank of the job: an intercommunicator between rank 0 and the others, on which
/// MPICommExecutor must throw on every rank (the root alone throwing left the others
/// waiting in MPI_Comm_dup). Returns the message, or "" when nothing was thrown.
std::string comm_executor_on_an_intercommunicator() {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const int color = rank == 0 ? 0 : 1;
    MPI_Comm local = MPI_COMM_NULL;
    MPI_Comm_split(MPI_COMM_WORLD, color, rank, &local);
    MPI_Comm inter = MPI_COMM_NULL;
    MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, /*remote_leader=*/color == 0 ? 1 : 0, /*tag=*/77, &inter);
    std::string what;
    try {
        cf::mpi::MPICommExecutor ex(inter, 0);
    } catch (const std::invalid_argument& e) {
        what = e.what();
    }
    MPI_Comm_free(&inter);
    MPI_Comm_free(&local);
    return what;
}

TEST(MPIModeTest, comm_executor_rejects_an_intercommunicator_on_every_rank) {
    if (g_mode != Mode::comm) GTEST_SKIP() << "comm mode only";
    int command = kCommIntercomm;
    MPI_Bcast(&command, 1, MPI_INT, 0, MPI_COMM_WORLD);
    const std::string what = comm_executor_on_an_intercommunicator();
    EXPECT_NE(what.find("intercommunicator"), std::string::npos) << what;
    // What each other rank saw (they cannot run EXPECTs): 1 when it threw the same.
    int ok_here = 1;
    int ok_everywhere = 0;
    MPI_Reduce(&ok_here, &ok_everywhere, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    EXPECT_EQ(ok_everywhere, kWorkers + 1) << "a rank did not refuse the intercommunicator";
}

// ---- a worker that dies ----------------------------------------------------------------------
//
// Only a root started alone survives a worker's death: mpiexec aborts the whole job,
// root included (docs/mpi.md, section 2). So these cases run in spawn mode without
// mpiexec, where the manager notices the death itself (same host: the worker's pid).

namespace {

constexpr auto kDeathBound = 30s;  // a death shows within ~10 ms; generous for a loaded machine

bool root_survives_worker_deaths() { return g_mode == Mode::spawn && !g_under_mpiexec; }

/// An executor whose kWorkers workers have each served a call (so each has said who it is).
std::unique_ptr<cf::mpi::MPIPoolExecutor> executor_with_workers_up() {
    auto ex = spawn_executor(kWorkers);
    std::vector<cf::Future<long>> fs;
    for (int i = 0; i < kWorkers; ++i) fs.push_back(ex->submit(&sleep_then_pid, 300));
    std::set<long> pids;
    for (auto& f : fs) pids.insert(f.result(kDeathBound));
    EXPECT_EQ(pids.size(), static_cast<std::size_t>(kWorkers)) << "the calls did not reach every worker";
    return ex;
}

/// Expects `f` to fail with the broken executor's error naming a dead worker, within kDeathBound.
template <class T>
void expect_broken_by_death(const cf::Future<T>& f) {
    try {
        (void)f.result(kDeathBound);
        ADD_FAILURE() << "the future succeeded";
    } catch (const cf::BrokenExecutor& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("worker rank "), std::string::npos) << what;
        EXPECT_NE(what.find(" died"), std::string::npos) << what;
        // The pid of the dead worker; how it ended is mpiexec's to know, not the executor's.
        EXPECT_TRUE(e.pid().has_value()) << what;
        if (e.pid()) {
            EXPECT_NE(what.find("(pid " + std::to_string(*e.pid()) + ")"), std::string::npos) << what;
        }
    } catch (const cf::TimeoutError&) {
        ADD_FAILURE() << "the future is still pending after the worker died";
    }
}

/// Destroys `ex` under a watchdog: the destructor must not wait for a dead worker's goodbye.
void destroy_in_time(std::unique_ptr<cf::mpi::MPIPoolExecutor>& ex) {
    Watchdog watchdog(60, "the destructor of an MPIPoolExecutor with a dead worker", 1);
    const auto t0 = std::chrono::steady_clock::now();
    ex.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, kDeathBound);
}

/// The environment of a program started alone: without what mpiexec or this singleton's
/// Open MPI put there (it would make the child join this job instead of starting its own).
std::vector<std::string> environment_of_a_program_alone() {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        const std::string_view var = *e;
        const bool mpi = var.starts_with("OMPI_") || var.starts_with("PMIX_") || var.starts_with("OPAL_") ||
                         var.starts_with("ORTE_");
        if (!mpi || var.starts_with("OMPI_ALLOW_RUN_AS_ROOT")) env.emplace_back(var);
    }
    return env;
}

struct ChildRun {
    int status = -1;  // exit status, or -1 when killed (signal or time-out)
    std::string output;
};

/// Runs this program with `args`, alone, and waits up to `timeout` for it (then kills it).
ChildRun run_this_program(const std::vector<std::string>& args, std::chrono::seconds timeout) {
    TempFile out;
    std::vector<std::string> argv_strings{"/proc/self/exe"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings = environment_of_a_program_alone();
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.path().c_str(), O_WRONLY | O_TRUNC, 0);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ChildRun run;
    if (rc != 0) {
        run.output = "posix_spawn failed: " + std::string(std::strerror(rc));
        return run;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(20ms);
    }
    if (WIFEXITED(status)) run.status = WEXITSTATUS(status);
    for (const auto& line : out.lines()) run.output += line + "\n";
    return run;
}

}  // namespace

TEST(MPIWorkerDeathTest, killed_worker_fails_every_unfinished_future) {
    if (!root_survives_worker_deaths()) GTEST_SKIP() << "mpiexec aborts the job when a worker dies (docs/mpi.md)";
    auto ex = executor_with_workers_up();
    // One worker dies in 300 ms; meanwhile the other runs a long call, a 4 MB call waits
    // at the dying one (a send that can never complete), and more calls are queued.
    auto dying = ex->submit(&die_after, 300, std::string("kill"));
    auto slow = ex->submit(&sleep_then, 10000, 1);
    auto big = ex->submit(&echo, std::string(std::size_t{4} << 20, 'x'));
    std::vector<cf::Future<int>> queued;
    for (int i = 0; i < 10; ++i) queued.push_back(ex->submit(&add, i, i));
    expect_broken_by_death(dying);
    expect_broken_by_death(slow);
    expect_broken_by_death(big);
    for (auto& f : queued) expect_broken_by_death(f);
    const std::string what = what_of<cf::BrokenExecutor>([&] { (void)ex->submit(&add, 1, 2); });
    EXPECT_NE(what.find(" died"), std::string::npos) << what;
    EXPECT_THROW((void)ex->map(&square, std::vector{1, 2}), cf::BrokenExecutor);
    EXPECT_EQ(ex->num_workers(), 0) << "a broken executor has no workers";
    destroy_in_time(ex);
}

// Open MPI may then abort the root's other spawned jobs too (it does at the first death
// of a singleton's life, docs/mpi.md): another executor either serves on or breaks, and
// never hangs; an executor spawned afterwards works.
TEST(MPIWorkerDeathTest, other_executors_serve_or_break_and_new_ones_work) {
    if (!root_survives_worker_deaths()) GTEST_SKIP() << "mpiexec aborts the job when a worker dies (docs/mpi.md)";
    auto other = executor_with_workers_up();
    {
        auto ex = executor_with_workers_up();
        expect_broken_by_death(ex->submit(&die_after, 0, std::string("kill")));
        destroy_in_time(ex);
    }
    const auto until = std::chrono::steady_clock::now() + 3s;
    int served = 0;
    for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
        try {
            EXPECT_EQ(other->submit(&sleep_then, 50, i).result(kDeathBound), i);
            ++served;
        } catch (const cf::BrokenExecutor& e) {
            EXPECT_NE(std::string(e.what()).find(" died"), std::string::npos) << e.what();
            EXPECT_THROW((void)other->submit(&add, 1, 2), cf::BrokenExecutor);
            break;
        }
    }
    std::printf("the other executor served %d calls after the death\n", served);
    destroy_in_time(other);
    auto fresh = spawn_executor(kWorkers);
    EXPECT_EQ(fresh->submit(&add, 20, 22).result(kDeathBound), 42);
}

TEST(MPIWorkerDeathTest, exit_and_abort_in_a_call_break_the_executor) {
    if (!root_survives_worker_deaths()) GTEST_SKIP() << "mpiexec aborts the job when a worker dies (docs/mpi.md)";
    for (const std::string how : {"exit", "abort"}) {
        SCOPED_TRACE(how);
        auto ex = executor_with_workers_up();
        auto f = ex->submit(&die_after, 0, how);
        expect_broken_by_death(f);
        EXPECT_THROW((void)ex->submit(&add, 1, 2), cf::BrokenExecutor);
        destroy_in_time(ex);
    }
}

TEST(MPIWorkerDeathTest, shutdown_waiting_for_a_dying_call_returns) {
    if (!root_survives_worker_deaths()) GTEST_SKIP() << "mpiexec aborts the job when a worker dies (docs/mpi.md)";
    auto ex = executor_with_workers_up();
    auto f = ex->submit(&die_after, 500, std::string("kill"));
    {
        Watchdog watchdog(60, "shutdown(wait=true) of an MPIPoolExecutor whose worker dies", 1);
        ex->shutdown(/*wait=*/true);
    }
    ASSERT_TRUE(f.done());
    expect_broken_by_death(f);
    destroy_in_time(ex);
}

// The whole program: it destroys its executor after the death and returns from main
// normally (MPI_Finalize at exit), with status 0. Runs a copy of this program alone.
TEST(MPIWorkerDeathTest, program_exits_normally_after_a_worker_died) {
    if (g_mode != Mode::spawn) GTEST_SKIP() << "spawn mode only";
    ChildRun run;
    for (int attempt = 0; attempt < 2; ++attempt) {
        run = run_this_program({"--mode=spawn", "--probe-death=kill"}, 90s);
        if (run.status != kSpawnHungExit) break;
    }
    if (run.status == kSpawnHungExit) {
        std::fprintf(stderr, "test_mpi: the child's MPI_Comm_spawn hung twice (docs/mpi.md)\n");
        const int status = spawn_hung_status();
        std::fflush(stderr);
        ::_exit(status);
    }
    EXPECT_EQ(run.status, 0) << run.output;
    EXPECT_NE(run.output.find("PROBE result: cf::BrokenExecutor: "), std::string::npos) << run.output;
    EXPECT_NE(run.output.find(" died"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("PROBE later submit: cf::BrokenExecutor: "), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("PROBE executor destroyed"), std::string::npos) << run.output;
}

// ---- main -----------------------------------------------------------------------------------

namespace {

/// --probe-death: a worker dies in a call; prints what the root sees, never hangs for long.
int probe_death(const std::string& how) {
    std::printf("PROBE mode=%s death=%s\n", g_mode == Mode::spawn ? "spawn" : g_mode == Mode::world ? "world" : "comm",
                how.c_str());
    std::fflush(stdout);
    auto ex = make_executor();
    std::printf("PROBE workers=%d\n", ex->num_workers());
    std::fflush(stdout);
    auto f = ex->submit(&die_after, 0, how);
    try {
        (void)f.result(20s);
        std::printf("PROBE result: returned\n");
    } catch (const std::exception& e) {
        std::printf("PROBE result: %s: %s\n", cf::detail::demangle(typeid(e)).c_str(), e.what());
    }
    std::fflush(stdout);
    try {
        auto g = ex->submit(&add, 1, 2);
        std::printf("PROBE later submit: %d\n", g.result(10s));
    } catch (const std::exception& e) {
        std::printf("PROBE later submit: %s: %s\n", cf::detail::demangle(typeid(e)).c_str(), e.what());
    }
    std::fflush(stdout);
    if (g_mode != Mode::spawn) {
        // Never reached so far: mpiexec ends the whole job at the death (docs/mpi.md).
        ex->shutdown(false);
        std::printf("PROBE root reached the end\n");
        std::fflush(stdout);
        ex.release();
        std::_Exit(0);
    }
    ex.reset();  // a singleton root noticed the death: nothing to wait for
    std::printf("PROBE executor destroyed\n");
    std::fflush(stdout);
    return 0;  // and MPI_Finalize at exit
}

}  // namespace

int main(int argc, char** argv) {
    // Before anything initialises MPI: what mpiexec puts in the environment of its ranks.
    g_under_mpiexec = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr;
    ::testing::InitGoogleTest(&argc, argv);
    std::string mode = "spawn";
    std::string death;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.starts_with("--mode=")) mode = std::string(arg.substr(7));
        if (arg.starts_with("--probe-death=")) death = std::string(arg.substr(14));
        if (arg.starts_with("--progress-file=")) {
            ::testing::UnitTest::GetInstance()->listeners().Append(
                new ProgressRecorder(std::string(arg.substr(16))));
        }
    }
    if (mode == "spawn") {
        g_mode = Mode::spawn;
    } else if (mode == "world") {
        g_mode = Mode::world;
        const char* v = std::getenv("CFUTURES_MPI_POOL");
        if (!v || std::string_view(v) != "1") {
            std::fprintf(stderr, "--mode=world needs CFUTURES_MPI_POOL=1 and mpiexec -n 3\n");
            return 2;
        }
    } else if (mode == "comm") {
        g_mode = Mode::comm;
    } else {
        std::fprintf(stderr, "unknown --mode=%s (spawn, world or comm)\n", mode.c_str());
        return 2;
    }

    if (g_mode == Mode::world) {
        // The library made this rank 0 of the pool before main (the others never get here).
        int size = 0;
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        if (size != kWorkers + 1) {
            std::fprintf(stderr, "--mode=world needs mpiexec -n %d, got %d ranks\n", kWorkers + 1, size);
            return 2;
        }
    }

    if (g_mode != Mode::comm) {
        // Spawn and world modes leave MPI to the library (initialised on first use, finalised at exit).
        if (!death.empty()) return probe_death(death);
        const int rc = RUN_ALL_TESTS();
        g_shared.reset();
        return rc;
    }

    // Comm mode: the program initialises MPI itself, as SPMD code does, so it must ask
    // for MPI_THREAD_MULTIPLE and finalise it.
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    int rank = 0;
    int size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (provided < MPI_THREAD_MULTIPLE || size != kWorkers + 1) {
        if (rank == 0) std::fprintf(stderr, "--mode=comm needs MPI_THREAD_MULTIPLE and mpiexec -n %d\n", kWorkers + 1);
        MPI_Finalize();
        return 2;
    }
    int rc = 0;
    if (rank == 0) {
        if (!death.empty()) return probe_death(death);
        rc = RUN_ALL_TESTS();
        int command = kCommStop;
        MPI_Bcast(&command, 1, MPI_INT, 0, MPI_COMM_WORLD);
    } else {
        for (;;) {
            int command = kCommStop;
            MPI_Bcast(&command, 1, MPI_INT, 0, MPI_COMM_WORLD);
            if (command == kCommIntercomm) {
                const std::string what = comm_executor_on_an_intercommunicator();
                const bool ok = what.find("intercommunicator") != std::string::npos;
                if (!ok) std::fprintf(stderr, "rank %d: MPICommExecutor on an intercommunicator: '%s'\n", rank, what.c_str());
                int ok_here = ok ? 1 : 0;
                MPI_Reduce(&ok_here, nullptr, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
                continue;
            }
            if (command != kCommServe) break;
            // The SPMD shape: serves inside the constructor, false on a non-root rank.
            cf::mpi::MPICommExecutor ex(MPI_COMM_WORLD, 0);
            if (ex) {
                std::fprintf(stderr, "rank %d: MPICommExecutor is true on a non-root rank\n", rank);
                rc = 1;
            }
        }
    }
    MPI_Finalize();
    return rc;
}
