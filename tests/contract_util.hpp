// What the executor contracts (executor_contract.hpp, wait_contract.hpp,
// as_completed_contract.hpp) share: the fixture their cases run in, the functions
// the calls run, and the harnesses that give each case its executor. CPython's
// create_executor_tests: a contract is a GoogleTest type-parameterized suite, and a
// test program instantiates it with the harnesses of the executors it runs it on:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(WaitTests, WaitTests, cf_contract::LocalExecutors);
//
// tests/mpi/test_mpi.cpp instantiates them with its own harness (WaitTests/WaitTests/MPI.*).
//
// CTest names them WaitTests.test_20369<cf_contract::ProcessPoolSpawn>, GoogleTest
// WaitTests/WaitTests/2.test_20369 (the index of the type in LocalExecutors).
//
// A harness H has:
//   using Executor;                         the executor type
//   static constexpr const char* name;      the instantiation's name
//   static constexpr int worker_count;      workers of the executors it makes
//   static constexpr bool remote;           calls run in other processes (results and exceptions are encoded)
//   Executor& executor();                   the case's executor; the case leaves it usable (it may be shared)
//   Executor& own_executor();               an executor of the case alone, which it may shut down
//   std::unique_ptr<Executor> make_executor();  a new one the case destroys itself
//   static void construct_with_max_workers(int);
//   void tear_down();                       ExecutorMixin.tearDown: shutdown(wait=true)
// A case holds at most one of executor(), own_executor() and make_executor()'s at a
// time: the MPI world and comm modes serve one executor at a time.
//
// Every call is a function pointer (or a capture-less lambda, or a serializable callable
// object) with serializable arguments, so it runs on every executor. A call that must not
// finish before the case says so waits for a gate: a file the case creates (gate(),
// open()); a worker gives up after kWorkerWait, or once the case's directory is gone. TearDown opens every gate the case made
// (Python's `finally: event.set()`), so a failing case never leaves a worker blocked.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "process_test_util.hpp"
#include "test_util.hpp"

namespace cf_contract {

using namespace std::chrono_literals;

// ---- what the calls run --------------------------------------------------------------

/// Python's pow(x, y) for the small values the cases use.
inline long long ipow(long long x, long long y) {
    long long r = 1;
    while (y-- > 0) r *= x;
    return r;
}

inline int mul(int x, int y) { return x * y; }
inline int add(int x, int y) { return x + y; }
inline int square(int x) { return x * x; }
inline int twice(int x) { return 2 * x; }
inline std::string str(int x) { return std::to_string(x); }
inline std::string echo(std::string s) { return s; }
inline void do_nothing() {}

/// Python's ZeroDivisionError (C++ integer division by zero is undefined, not an exception).
/// Registered, so that it comes back from a worker process as itself.
struct ZeroDivisionError : std::domain_error {
    explicit ZeroDivisionError(const std::string& what = "integer division or modulo by zero")
        : std::domain_error(what) {}
};
inline const bool zero_division_registered = cf::register_exception<ZeroDivisionError>();

inline std::pair<int, int> divmod(int a, int b) {
    if (b == 0) throw ZeroDivisionError();
    return {a / b, a % b};
}

/// divmod(a, b)[0], so that its future has the type of mul's.
inline int divide(int a, int b) { return divmod(a, b).first; }

/// The callable itself raises TimeoutError (not the map's timeout).
inline int timeout_on_one(int x) {
    if (x == 1) throw cf::TimeoutError("raised by the callable");
    return x;
}

/// Fails for x == bad only.
inline int fail_on(int x, int bad) {
    if (x == bad) throw std::out_of_range("item " + std::to_string(x));
    return x * 10;
}

/// x / 10 as a double; throws for multiples of 3 (a chunk of 7 then mixes values and failures).
inline double tenth_unless_multiple_of_three(long x) {
    if (x % 3 == 0) throw std::domain_error("multiple of three: " + std::to_string(x));
    return static_cast<double>(x) / 10;
}

inline bool is_odd(long x) { return x % 2 != 0; }

inline void touch_file(std::string path) { cf_test::touch(path); }

/// A void call that fails for 2.
inline void fail_on_two(int x) {
    if (x == 2) throw std::out_of_range("two");
}

inline int raise_empty_runtime_error() { throw std::runtime_error(""); }
inline int throw_zero() { throw 0; }
inline int throw_false() { throw false; }

inline int sleep_then(int ms, int value) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return value;
}

/// Waits until `gate` is open: the file exists, or its directory does not any more (the
/// case is over: a call a worker took late, of an executor that outlives the case, must
/// not block it for kWorkerWait). Returns false if it gave up.
inline bool wait_for_gate_file(const std::string& gate) {
    const std::string dir = gate.substr(0, gate.rfind('/'));
    const auto deadline = std::chrono::steady_clock::now() + cf_test::kWorkerWait;
    while (!cf_test::file_exists(gate) && cf_test::file_exists(dir)) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

/// Python's event.wait() in a call: waits until `gate` is opened; returns 1 (0 if it gave up).
inline int wait_for_gate(std::string gate) { return wait_for_gate_file(gate) ? 1 : 0; }

/// Waits for `gate`, then returns `value`.
inline int gated_value(std::string gate, int value) {
    wait_for_gate_file(gate);
    return value;
}

/// test_wait's wait_and_raise.
inline int wait_for_gate_and_raise(std::string gate) {
    wait_for_gate_file(gate);
    throw std::runtime_error("this is an exception");
}

/// time.sleep(x) of test_map_timeout: returns at once for 0, else waits for the gate.
inline void sleep_or_block(int x, std::string gate) {
    if (x != 0) wait_for_gate_file(gate);
}

/// Appends x to `log`; waits for `gate` unless x is 0.
inline int log_and_wait(int x, std::string log, std::string gate) {
    cf_test::append_line(log, std::to_string(x));
    if (x != 0) wait_for_gate_file(gate);
    return x;
}

/// Appends x to `log`, then waits for `gate`.
inline int log_then_wait(int x, std::string log, std::string gate) {
    cf_test::append_line(log, std::to_string(x));
    wait_for_gate_file(gate);
    return x;
}

/// Python's MyObject; serializable, so that it can be a result.
struct MyObject {
    template <class Archive>
    void serialize(Archive&) {}
    void my_method() const {}
};

inline std::shared_ptr<MyObject> make_dummy_object(int) { return std::make_shared<MyObject>(); }

/// my_object.my_method as a callable object: the shared_ptr is the caller's reference
/// (Python's bound method keeps my_object alive). Not serialized: in a worker process
/// the call has no object of the caller's and uses one of its own.
struct BoundMyMethod {
    std::shared_ptr<MyObject> self;
    template <class Archive>
    void serialize(Archive&) {}
    void operator()() const {
        MyObject local;
        (self ? *self : local).my_method();
    }
};

/// x + 5, as a callable object holding a token the test watches (not serialized).
struct AddFive {
    std::shared_ptr<int> token;
    template <class Archive>
    void serialize(Archive&) {}
    int operator()(int x) const { return x + 5; }
};

// ---- harnesses -----------------------------------------------------------------------

/// A harness whose executor() is one executor per case, made on first use (by
/// Derived::make_executor()) and shut down at its end.
template <class Derived, class Ex>
struct PerCaseExecutor {
    using Executor = Ex;
    Executor& executor() {
        if (!executor_) executor_ = static_cast<Derived&>(*this).make_executor();
        return *executor_;
    }
    Executor& own_executor() { return executor(); }
    void tear_down() {
        if (executor_) executor_->shutdown(/*wait=*/true);
    }

private:
    std::unique_ptr<Executor> executor_;
};

/// ThreadPoolMixin: 5 workers.
struct ThreadPool : PerCaseExecutor<ThreadPool, cf::ThreadPoolExecutor> {
    static constexpr const char* name = "ThreadPool";
    static constexpr int worker_count = 5;
    static constexpr bool remote = false;
    std::unique_ptr<Executor> make_executor() { return std::make_unique<Executor>(worker_count); }
    static void construct_with_max_workers(int n) { Executor e(n); }
};

/// ProcessPool{Fork,Forkserver,Spawn}Mixin: 2 workers (CPython's 5 would make the suite
/// dearer on small machines for nothing more tested).
template <cf::StartMethod Method>
struct ProcessPoolHarness : PerCaseExecutor<ProcessPoolHarness<Method>, cf::ProcessPoolExecutor> {
    using Executor = cf::ProcessPoolExecutor;
    static constexpr const char* name = Method == cf::StartMethod::Fork    ? "ProcessPoolFork"
                                        : Method == cf::StartMethod::Spawn ? "ProcessPoolSpawn"
                                                                           : "ProcessPoolForkServer";
    static constexpr int worker_count = 2;
    static constexpr bool remote = true;

    std::unique_ptr<Executor> make_executor() {
        return std::make_unique<Executor>(cf_test::process_pool_options(Method, worker_count));
    }
    /// Both ways to say it: ProcessPoolExecutor(n), then ProcessPoolOptions{.max_workers = n}.
    static void construct_with_max_workers(int n) {
        bool options_refused = false;
        try {
            Executor e(cf_test::process_pool_options(Method, n));
        } catch (const std::invalid_argument&) {
            options_refused = true;
        }
        if (!options_refused) throw std::logic_error("ProcessPoolOptions{.max_workers = n} was accepted");
        Executor e(n);
    }
};

// Named types, so that GoogleTest and CTest name the instantiations after them
// (CTest's gtest_discover_tests reads "# TypeParam = cf_contract::ProcessPoolSpawn").
struct ProcessPoolFork : ProcessPoolHarness<cf::StartMethod::Fork> {};
struct ProcessPoolSpawn : ProcessPoolHarness<cf::StartMethod::Spawn> {};
struct ProcessPoolForkServer : ProcessPoolHarness<cf::StartMethod::ForkServer> {};

/// The executors of this library but MPI's (tests/mpi/test_mpi.cpp has their harness).
using LocalExecutors = ::testing::Types<ThreadPool, ProcessPoolFork, ProcessPoolSpawn, ProcessPoolForkServer>;

/// INSTANTIATE_TYPED_TEST_SUITE_P's name generator: the harness's name. Not for programs
/// that gtest_discover_tests lists (CMake 3.25 reads only numbered type instantiations).
struct HarnessName {
    template <class H>
    static std::string GetName(int) {
        return H::name;
    }
};

// ---- the fixture ---------------------------------------------------------------------

/// ExecutorMixin: the harness's executors, shut down (wait=true) at the end of the case,
/// gates in a temporary directory, and a check that the case did not last too long
/// (which points to a synchronization issue).
template <class H>
class ContractTest : public ::testing::Test {
protected:
    using Harness = H;
    using Executor = typename H::Executor;
    using FutureSet = std::unordered_set<cf::Future<int>>;
    static constexpr int worker_count = H::worker_count;
    static constexpr auto kShortTimeout = cf_test::kLongWait;  // support.SHORT_TIMEOUT

    Executor& executor() { return harness_.executor(); }
    Executor& own_executor() { return harness_.own_executor(); }
    std::unique_ptr<Executor> make_executor() { return harness_.make_executor(); }

    /// A closed gate, opened by open() or at the end of the case.
    std::string gate(const std::string& name = "gate") {
        std::string path = dir_.file(name);
        gates_.push_back(path);
        return path;
    }
    static void open(const std::string& gate) { cf_test::touch(gate); }
    /// The path of a file in the case's directory.
    [[nodiscard]] std::string file(const std::string& name) const { return dir_.file(name); }

    void TearDown() override {
        for (const auto& g : gates_) open(g);
        harness_.tear_down();
        cf_test::expect_test_not_too_long(t1_);
    }

private:
    cf_test::TempDir dir_;
    std::vector<std::string> gates_;
    std::chrono::steady_clock::time_point t1_ = std::chrono::steady_clock::now();
    H harness_;  // last: its executors are gone before the directory
};

}  // namespace cf_contract
