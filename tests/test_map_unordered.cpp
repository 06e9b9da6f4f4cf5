// ProcessPoolExecutor::map_unordered with each start method: the contract that the
// MPI executors pass too (map_unordered_contract.hpp). Not in CPython, whose
// ProcessPoolExecutor has no map_unordered; mpi4py.futures' map(unordered=True).
#include <cfutures/cfutures.hpp>
#include <gtest/gtest.h>

#include "map_unordered_contract.hpp"
#include "process_test_util.hpp"

namespace {

class ProcessMapUnorderedTest : public cf_test::ProcessPoolTest {};

CF_MAP_UNORDERED_CASES(TEST_P, ProcessMapUnorderedTest, executor)

INSTANTIATE_TEST_SUITE_P(StartMethod, ProcessMapUnorderedTest, cf_test::kAllStartMethods, cf_test::StartMethodName{});

}  // namespace
