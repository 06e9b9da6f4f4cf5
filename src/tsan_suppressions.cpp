// ThreadSanitizer's suppressions, built into TSan builds only (CMakeLists.txt links
// this file's object into every program that links cfutures when CFUTURES_SANITIZE
// contains "thread"; the tests check it is there): TSan asks a program for them through
// __tsan_default_suppressions. Built in, not a file named in TSAN_OPTIONS, because a
// process started with a private /tmp (ProcessCleanupTest's sandbox) could not read
// a file under a checkout in /tmp, and a re-executed worker reads TSAN_OPTIONS too.
//
// Debian's libstdc++ is not built with TSan, so the atomic reference counts inside it
// are invisible to TSan: the count of an exception object (std::exception_ptr,
// __cxa_end_catch) and the copy-on-write count of std::logic_error's and
// std::runtime_error's message. A thread that reads an exception's what() and lets it
// go, and another that drops the last reference and frees it, are ordered by those
// counts; TSan sees only the read and the free, and reports a race that is none (e.g.
// ExecutorTest.map_failed_call_fails_only_its_own_position on a thread pool, about 1
// run in 30 on a loaded machine; a 20-line program that does only that gets hundreds
// of reports). Only frees inside those libstdc++ functions are suppressed; a race on
// cfutures' own data has other frames.
extern "C" const char* __tsan_default_suppressions() {
    return "race:std::logic_error::~logic_error\n"
           "race:std::runtime_error::~runtime_error\n"
           "race:std::__exception_ptr::exception_ptr::_M_release\n"
           "race:__cxa_end_catch\n"
           "race:__cxa_free_exception\n";
}
