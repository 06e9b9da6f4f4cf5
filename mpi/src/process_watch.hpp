// Who a worker process is, and whether it is gone: Open MPI 4.1 does not report
// a dead peer, so the root watches the workers on its own host itself, through
// /proc (docs/mpi.md, section 2). Linux specifics kept apart from the MPI code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cf::mpi::detail {

/// Who a worker process is: enough for the root to watch it when both run on one host.
struct ProcessId {
    std::uint64_t pid = 0;
    std::uint64_t start_time = 0;  // /proc/<pid>/stat field 22: a reused pid has another one
    std::string host;              // gethostname()
    std::string kernel;            // boot id and pid namespace: where a pid means the same process
};

/// The calling process.
ProcessId this_process();
/// The text a kTagHello carries after the pid, and back.
std::string encode_process_body(const ProcessId& p);
ProcessId decode_process(std::uint64_t pid, std::string_view body);
/// True when `p` runs on the caller's host (same host name) under the same kernel and pid
/// namespace, so that its pid can be looked at from here.
bool watchable(const ProcessId& p);
/// True only when `p` is surely gone: no such pid, a zombie, or its pid taken by another process.
bool process_gone(const ProcessId& p);

}  // namespace cf::mpi::detail
