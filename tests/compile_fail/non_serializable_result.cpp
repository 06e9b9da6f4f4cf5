// Must not compile: a ProcessPoolExecutor call whose result type cannot be
// serialized (it holds a std::mutex). The error must say "cannot cross a process
// boundary" and name LockedCounter. (With CF_COMPILE_FAIL_CONTROL the result is
// an int and the file compiles: see control.cpp.)
#include <mutex>

#include <cfutures/cfutures.hpp>

namespace compile_fail_result {

struct LockedCounter {
    std::mutex m;
    int value = 0;
};

#ifdef CF_COMPILE_FAIL_CONTROL
int make_counter() { return 0; }
#else
LockedCounter make_counter() { return {}; }
#endif

void use(cf::ProcessPoolExecutor& ex) { (void)ex.submit(&make_counter); }

}  // namespace compile_fail_result
