// CPython's Lib/test/test_concurrent_futures/executor.py (the generic ExecutorTest)
// and the rest of the executor contract (executor_contract.hpp), run as CPython's
// create_executor_tests does: on cf::ThreadPoolExecutor (5 workers, ThreadPoolMixin)
// and on cf::ProcessPoolExecutor with each start method (2 workers), as
// ExecutorTest.<case><cf_contract::{ThreadPool,ProcessPoolFork,ProcessPoolSpawn,ProcessPoolForkServer}>.
// tests/mpi/test_mpi.cpp runs the same contract on the MPI executors.
//
// Suite ExecutorCppTest holds what only the thread pool can do: move-only arguments
// and results (a process-based executor needs serializable ones).
#include <cfutures/cfutures.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <ranges>
#include <utility>
#include <vector>

#include "executor_contract.hpp"

INSTANTIATE_TYPED_TEST_SUITE_P(ExecutorTest, ExecutorTest, cf_contract::LocalExecutors);

TEST(ExecutorCppTest, map_move_only_results_and_arguments) {
    cf::ThreadPoolExecutor ex(3);
    std::vector<std::unique_ptr<int>> inputs;
    for (int i = 0; i < 5; ++i) inputs.push_back(std::make_unique<int>(i));
    // Arguments are decay-copied as by submit, so move-only elements are moved in through
    // a view whose reference is an rvalue; the results are moved out of the map result.
    auto moved = inputs | std::views::transform([](std::unique_ptr<int>& p) { return std::move(p); });
    auto r = ex.map([](std::unique_ptr<int> p) { return std::make_unique<int>(*p * 3); }, moved,
                    cf::MapOptions{.buffersize = 2});
    int i = 0;
    for (std::unique_ptr<int> p : r) {
        ASSERT_TRUE(p);
        EXPECT_EQ(*p, 3 * i++);
    }
    EXPECT_EQ(i, 5);
}

#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions();
#endif

// TSan builds link src/tsan_suppressions.cpp into every program that links cfutures.
// If the linker keeps libtsan's own empty default instead (as it did while the file
// was an archive member), TSan reports libstdc++'s invisible reference counts as races,
// about 1 run in 30 of this program's map tests.
TEST(SanitizerSetupTest, tsan_suppressions_of_the_library_are_linked_in) {
#if defined(__SANITIZE_THREAD__)
    const std::string suppressions = __tsan_default_suppressions();
    EXPECT_NE(suppressions.find("race:std::logic_error::~logic_error"), std::string::npos)
        << suppressions;
#else
    GTEST_SKIP() << "not a ThreadSanitizer build";
#endif
}
