// Must not compile: then(ex, fn) on a ProcessPoolExecutor with a lambda that
// captures (the process pool's rules apply to fn as to submit). The error must say
// "cannot be called in another process" and name the lambda. (With
// CF_COMPILE_FAIL_CONTROL the lambda captures nothing: see control.cpp.)
#include <cfutures/cfutures.hpp>

namespace compile_fail_then {

int use(cf::ProcessPoolExecutor& ex, const cf::Future<int>& f, int offset) {
#ifdef CF_COMPILE_FAIL_CONTROL
    (void)offset;
    return f.then(ex, [](int x) { return x + 1; }).result();
#else
    return f.then(ex, [offset](int x) { return x + offset; }).result();
#endif
}

}  // namespace compile_fail_then
