// Port of the thread-pool parts of CPython's Lib/test/test_concurrent_futures/test_init.py:
// ThreadPoolInitializerTest and ThreadPoolFailingInitializerTest (InitializerMixin
// and FailingInitializerMixin on ThreadPoolMixin, worker_count = 2).
//
// Python's initializer(*initargs) is a std::function<void()> here: the arguments
// are captured. Python's INITIALIZER_STATUS global is per process, so for a thread
// pool it is shared by the workers; it is a thread_local here so that each worker
// shows its own initializer ran in it before the tasks.
//
// CPython cases left out, or ported in part, and why:
//  - the ProcessPool* / InterpreterPool* variants and FailingInitializerResourcesTest
//    (multiprocessing resource tracker): not thread-pool tests.
//  - _assert_logged: CPython logs "ValueError: error in initializer" at CRITICAL.
//    cfutures has no logging; the same text must instead be in the BrokenThreadPool
//    that the futures and submit() raise, which is what is checked.
//  - init_fail's time.sleep(0.1) "to let some futures be scheduled" is a gate the
//    test opens after submitting, so the future is always pending when the pool breaks.
#include <cfutures/cfutures.hpp>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "executor_test_util.hpp"

using cf_test::contains;
using cf_test::Counter;
using cf_test::Gate;
using cf_test::what_of;

namespace {

thread_local std::string INITIALIZER_STATUS = "uninitialized";

void init(const std::string& x) { INITIALIZER_STATUS = x; }
std::string get_init_status() { return INITIALIZER_STATUS; }

class ThreadPoolInitializerTest : public ::testing::Test {
protected:
    static constexpr int worker_count = 2;
    void TearDown() override { executor.shutdown(/*wait=*/true); }

    cf::ThreadPoolExecutor executor{cf::ThreadPoolOptions{
        .max_workers = worker_count,
        .initializer = [] { init("initialized"); },  // initializer=init, initargs=('initialized',)
    }};
};

class ThreadPoolFailingInitializerTest : public ::testing::Test {
protected:
    static constexpr int worker_count = 2;
    void TearDown() override {
        init_may_fail.open();
        executor.shutdown(/*wait=*/true);
    }

    Gate init_may_fail;  // before executor: the workers use it
    cf::ThreadPoolExecutor executor{cf::ThreadPoolOptions{
        .max_workers = worker_count,
        .initializer =
            [this] {
                init_may_fail.wait();  // let some futures be scheduled
                throw std::invalid_argument("error in initializer");  // Python's ValueError
            },
    }};
};

}  // namespace

TEST_F(ThreadPoolInitializerTest, test_initializer) {
    // Python submits worker_count calls; they rendezvous here so that every worker runs one.
    Counter arrived;
    std::vector<cf::Future<std::string>> futures;
    for (int i = 0; i < worker_count; ++i) {
        futures.push_back(executor.submit([&] {
            arrived.increment();
            arrived.wait_for_at_least(worker_count);
            return get_init_status();
        }));
    }
    for (auto& f : futures) EXPECT_EQ(f.result(), "initialized");
    EXPECT_EQ(executor.thread_count(), worker_count);
    // And any later call, on whichever worker.
    EXPECT_EQ(executor.submit(get_init_status).result(), "initialized");
    // The initializer ran in the workers, not in this thread.
    EXPECT_EQ(get_init_status(), "uninitialized");
}

TEST_F(ThreadPoolFailingInitializerTest, test_initializer) {
    std::string logged;
    try {
        auto future = executor.submit(get_init_status);
        init_may_fail.open();
        try {
            future.result();
            ADD_FAILURE() << "expected BrokenExecutor";
        } catch (const cf::BrokenExecutor& e) {
            EXPECT_NE(dynamic_cast<const cf::BrokenThreadPool*>(&e), nullptr);
            logged = e.what();
        }
    } catch (const cf::BrokenExecutor&) {
        ADD_FAILURE() << "the pool broke before its initializer was allowed to fail";
    }
    EXPECT_TRUE(contains(logged, "error in initializer")) << logged;

    // ... and from this point submit() is guaranteed to fail
    const std::string what = what_of<cf::BrokenThreadPool>([&] { executor.submit(get_init_status); });
    EXPECT_TRUE(contains(what, "error in initializer")) << what;
}
