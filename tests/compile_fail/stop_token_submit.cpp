// Must not compile: a callable that takes a std::stop_token first, submitted to a
// ProcessPoolExecutor (a process pool stops a call by killing its worker: it has no
// token to give). The error must say "cannot give a call a std::stop_token" and name
// the function's type where refuse_stop_token fails. (With CF_COMPILE_FAIL_CONTROL
// the function takes no token: see control.cpp.)
#include <cfutures/cfutures.hpp>

#include "stop_token_poll.hpp"

namespace compile_fail_stop_token_submit {

int use(cf::ProcessPoolExecutor& ex) { return ex.submit(&compile_fail_stop_token::poll, 1000).result(); }

}  // namespace compile_fail_stop_token_submit
