// The worker's side of the call protocol, shared by the process pool's workers
// (src/process/worker.cpp) and the MPI workers (mpi/src/worker.cpp): run the
// bytes of an encoded call, and say what an exception was.
//
// Apart from the loops that feed it (a socket and an express lane there, MPI
// messages here), so that neither backend's worker carries the other's. The
// traceback of a call that raised is made by describe_current_exception, which
// remote_call.hpp declares: its templates call it from the code they generate.
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace cf::detail {

/// Runs one encoded call in this process, appending the reply's bytes to `reply`.
/// Throws when the call cannot be decoded. Crash reports and throw stacks stop above
/// it (crash_report.cpp looks for its name).
void run_encoded_call(std::string_view call, std::string& reply);

/// "Type: what()" of `e`, whatever its type.
std::string describe_exception(const std::exception_ptr& e);

}  // namespace cf::detail
