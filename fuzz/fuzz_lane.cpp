// The express lane's reply path with a worker that writes anything into the shared
// memory at any moment: words of the lane's header scribbled, replies of any size and
// bytes, notices of any id, a waiter spinning, the worker's death. The pool's side
// must never crash, and the call in the lane must end once the lane is failed.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "express_lane.hpp"
#include "fuzz_util.hpp"

namespace {

std::uint32_t word(cf_fuzz::Input& in) {
    std::uint32_t w = 0;
    const auto bytes = in.take(4);
    std::memcpy(&w, bytes.data(), bytes.size());
    return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cf::detail;
    cf_fuzz::Input in(data, size);
    auto owned_lane = cf_fuzz::new_lane();
    express::Lane& lane = *owned_lane;
    // The worker's view of the lane: a mapping of its own.
    auto* worker = static_cast<char*>(
        ::mmap(nullptr, sizeof(express::Shared), PROT_READ | PROT_WRITE, MAP_SHARED, lane.memfd(), 0));
    if (worker == MAP_FAILED) return 0;
    lane.forget_memfd();
    auto* shared = reinterpret_cast<express::Shared*>(worker);
    cf_fuzz::RemoteFuture<std::string> call(/*running=*/false);
    const cf::detail::StateBase& state = *call.state;
    lane.offer();
    if (!lane.try_start(call.state, "a call", &complete_call<std::string>)) __builtin_trap();
    const auto error = std::make_exception_ptr(cf::BrokenProcessPool("the worker died"));
    while (!in.empty()) {
        switch (in.byte() % 6) {
            case 0: {  // a stray write into the header words (first 256 bytes)
                const std::size_t at = (in.byte() % 64) * 4;
                __atomic_store_n(reinterpret_cast<std::uint32_t*>(worker + at), word(in), __ATOMIC_RELAXED);
                break;
            }
            case 1: {  // a reply written as the worker writes one, its size word any value
                const auto bytes = in.take(in.byte());
                std::memcpy(shared->bytes, bytes.data(), bytes.size());
                shared->size.store(word(in), std::memory_order_relaxed);
                shared->phase.store(express::kReply, std::memory_order_seq_cst);
                break;
            }
            case 2: {  // a lane_done notice, with or without a payload, for any id
                const std::uint64_t id = in.byte() % 4;
                const auto payload = in.take(in.byte() % 32);
                if (lane.plausible_notice(id, payload.size())) lane.take_reply(id, payload);
                break;
            }
            case 3:  // a waiter in result() (no spinning past its deadline)
                lane.help(state, Deadline{Clock::now()});
                break;
            case 4:  // the manager wants the worker back, or offers it again
                if (!lane.revoke()) lane.offer();
                break;
            default:  // the worker dies
                lane.fail(error);
                break;
        }
    }
    lane.fail(error);
    if (!call.future.done()) __builtin_trap();
    ::munmap(worker, sizeof(express::Shared));
    return 0;
}
