// Must not compile: a lambda with captures submitted to a ProcessPoolExecutor
// (its captured state cannot be sent). The error must say "cannot be called in
// another process" and name the lambda. (With CF_COMPILE_FAIL_CONTROL the
// lambda captures nothing and the file compiles: see control.cpp.)
#include <cfutures/cfutures.hpp>

namespace compile_fail_lambda {

int use(cf::ProcessPoolExecutor& ex, int offset) {
#ifdef CF_COMPILE_FAIL_CONTROL
    (void)offset;
    return ex.submit([](int x) { return x + 1; }, 41).result();
#else
    return ex.submit([offset](int x) { return x + offset; }, 41).result();
#endif
}

}  // namespace compile_fail_lambda
