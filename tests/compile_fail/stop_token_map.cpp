// Must not compile: map() of a callable that takes a std::stop_token first on a
// ProcessPoolExecutor, as stop_token_submit.cpp for submit. The error must say
// "cannot give a call a std::stop_token" and name the function's type where
// refuse_stop_token fails. (With CF_COMPILE_FAIL_CONTROL the function takes no
// token: see control.cpp.)
#include <cfutures/cfutures.hpp>

#include <vector>

#include "stop_token_poll.hpp"

namespace compile_fail_stop_token_map {

int use(cf::ProcessPoolExecutor& ex) {
    int total = 0;
    for (int done : ex.map(&compile_fail_stop_token::poll, std::vector<int>{10, 20, 30})) total += done;
    return total;
}

}  // namespace compile_fail_stop_token_map
