// MPI set-up shared by the root and the workers: initialisation, the tags of
// the executor's messages, and the polling backoff.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

namespace cf::mpi::detail {

// Tags of the executor's messages (below 32767, the least MPI_TAG_UB a library may assume).
enum Tag : int {
    kTagCall = 31001,   // root -> worker: a batch of calls (items: id, encoded call)
    kTagInit = 31002,   // root -> worker: encoded initializer
    kTagExit = 31003,   // root -> worker: stop serving (answered by kTagBye)
    kTagSync = 31004,   // root -> worker: answer kTagBye and keep serving (a world executor ends)
    kTagReply = 31011,  // worker -> root: a batch of replies (items: id, reply)
    kTagFatal = 31012,  // worker -> root: u64 id | why the call or the initializer could not run
    kTagBye = 31013,    // worker -> root: the last message a worker sends
    kTagHello = 31014,  // worker -> root: u64 pid | ProcessId text; the first message of serve()
};

/// Calls and replies travel in batches, one MPI message for many: a message per call made
/// the manager's and the workers' time mostly MPI's per-message cost. An item of a batch
/// is u64 id | u32 size | size bytes.
inline void append_item(std::string& batch, std::uint64_t id, std::string_view bytes) {
    const auto size = static_cast<std::uint32_t>(bytes.size());
    char head[sizeof id + sizeof size];
    std::memcpy(head, &id, sizeof id);
    std::memcpy(head + sizeof id, &size, sizeof size);
    batch.append(head, sizeof head);
    batch.append(bytes);
}

/// Batches stay below Open MPI's eager limit over TCP (64 KiB with its header): a larger
/// message waits for the receiver's handshake before its body moves.
constexpr std::size_t kMaxBatchBytes = 60 * 1024;

/// True when an item of `size` bytes can join `batch`; an empty batch takes any item.
inline bool fits_in_batch(const std::string& batch, std::size_t size) {
    return batch.empty() || batch.size() + sizeof(std::uint64_t) + sizeof(std::uint32_t) + size <= kMaxBatchBytes;
}

/// The item of `batch` at `pos`, moving `pos` past it; false at the end or at a cut item
/// (then `pos` stays before it, short of the batch's size).
inline bool next_item(std::string_view batch, std::size_t& pos, std::uint64_t& id, std::string_view& bytes) {
    std::uint32_t size = 0;
    if (batch.size() - pos < sizeof id + sizeof size) return false;
    std::memcpy(&id, batch.data() + pos, sizeof id);
    std::memcpy(&size, batch.data() + pos + sizeof id, sizeof size);
    if (batch.size() - pos - sizeof id - sizeof size < size) return false;
    bytes = batch.substr(pos + sizeof id + sizeof size, size);
    pos += sizeof id + sizeof size + size;
    return true;
}

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

/// Initialises MPI (MPI_THREAD_MULTIPLE) unless the program did; finalises it at exit if we did.
/// Asks Open MPI to oversubscribe, so spawning works with fewer cores than workers.
void ensure_initialized();

/// Throws std::runtime_error naming the MPI call when `rc` is an error.
void check(int rc, const char* call);

/// Polling with growing pauses: MPI has no readiness notification to sleep on.
class Backoff {
public:
    void reset() noexcept { spins_ = 0; }
    void pause() {
        if (++spins_ < 64) return;  // keep polling: a reply is usually microseconds away
        const auto wait = std::chrono::microseconds(spins_ < 256 ? 10 : spins_ < 1024 ? 100 : 1000);
        std::this_thread::sleep_for(wait);
    }

private:
    unsigned spins_ = 0;
};

/// Serves calls from `root` on `comm` until told to exit (then sends kTagBye).
void serve(MPI_Comm comm, int root);

/// Rank 0 under the switch, at exit: tells the serving ranks to stop (before MPI_Finalize).
void release_world_workers();

/// The ranks of the job that serve calls under the CFUTURES_MPI_POOL switch, claimed by
/// rank 0's MPIPoolExecutor (one at a time). Returns false when the switch is off.
bool world_pool_active() noexcept;

}  // namespace cf::mpi::detail
