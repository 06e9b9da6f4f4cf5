// Must not compile: a ProcessPoolExecutor call whose second argument is a raw
// pointer (the parameter is one too, so nothing converts it to a value). The
// error must say "a raw pointer cannot cross a process boundary" and name the
// position and the type: require_value_argument<2, const char*>. (Built with
// CF_COMPILE_FAIL_CONTROL, the function takes a std::string and the literal
// converts to it before encoding: see control.cpp.)
#include <cfutures/cfutures.hpp>

#include <string>

namespace compile_fail_raw_pointer {

#ifdef CF_COMPILE_FAIL_CONTROL
int count_char(char c, const std::string& text) {
#else
int count_char(char c, const char* text) {
#endif
    int n = 0;
    for (const char* p = &text[0]; *p; ++p) n += *p == c;
    return n;
}

int use(cf::ProcessPoolExecutor& ex) { return ex.submit(&count_char, 'a', "banana").result(); }

}  // namespace compile_fail_raw_pointer
