// What the MPI executor's root and workers say to each other: the tags of its
// messages, and the batches that carry calls and replies. Both sides read and
// write these, so they are defined once, apart from either side's loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cf::mpi::detail {

// Tags of the executor's messages (below 32767, the least MPI_TAG_UB a library may assume).
enum Tag : int {
    kTagCall = 31001,   // root -> worker: a batch of calls (items: id, encoded call)
    kTagInit = 31002,   // root -> worker: encoded initializer
    kTagExit = 31003,   // root -> worker: stop serving (answered by kTagBye)
    kTagSync = 31004,   // root -> worker: answer kTagBye and keep serving (a world executor ends)
    kTagStop = 31005,   // root -> worker: u64 id of a call whose stop token is to be asked to stop
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

}  // namespace cf::mpi::detail
