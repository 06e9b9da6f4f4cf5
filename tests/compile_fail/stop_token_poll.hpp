// The callable of the stop_token compile_fail tests: it takes a std::stop_token
// first, which a process-based executor cannot give (with CF_COMPILE_FAIL_CONTROL
// it takes none: see control.cpp).
#pragma once

#include <stop_token>

namespace compile_fail_stop_token {

#ifdef CF_COMPILE_FAIL_CONTROL
inline int poll(int rounds) {
    int done = 0;
    while (done < rounds) ++done;
    return done;
}
#else
inline int poll(std::stop_token st, int rounds) {
    int done = 0;
    while (done < rounds && !st.stop_requested()) ++done;
    return done;
}
#endif

}  // namespace compile_fail_stop_token
