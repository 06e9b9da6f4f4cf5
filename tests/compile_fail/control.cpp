// The compile_fail sources with their mistake fixed must compile: this proves
// that each of them fails for its one reason and not, say, a missing include.
#define CF_COMPILE_FAIL_CONTROL 1
#include "capturing_lambda.cpp"
#include "non_serializable_argument.cpp"
#include "non_serializable_result.cpp"
#include "raw_pointer_argument.cpp"
#include "stop_token_map.cpp"
#include "stop_token_submit.cpp"
#include "then_capturing_lambda.cpp"
