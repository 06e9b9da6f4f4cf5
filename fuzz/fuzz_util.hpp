// What the fuzz targets share: a future whose state the decoders complete, as an
// executor's would be, and a cursor over the fuzzer's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <sys/eventfd.h>

#include <memory>

#include <cfutures/cfutures.hpp>
#include <cfutures/detail/call_book.hpp>
#include <cfutures/detail/remote_executor.hpp>

#include "express_lane.hpp"

namespace cf_fuzz {

/// An express lane as the pool makes one (the manager's wake-up eventfd is shared by every
/// lane of a fuzzer's run); a reply that cannot be decoded "breaks the pool" by failing
/// its call with BrokenProcessPool.
inline std::unique_ptr<cf::detail::express::Lane> new_lane() {
    static const int manager_wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return std::make_unique<cf::detail::express::Lane>(manager_wake_fd, [](const std::string& why) {
        return std::make_exception_ptr(cf::BrokenProcessPool(why));
    });
}

/// A RUNNING future of a remote call returning R, as the manager holds it: the caller's
/// handle, and the state (with the manager's reference) that a decoder completes.
template <class R>
struct RemoteFuture {
    explicit RemoteFuture(bool running = true) {
        state = new cf::detail::RemoteState<R>(cf::detail::RemoteStop::by_kill, /*takes_token=*/false);
        state->init_refs(2);
        future = cf::detail::FutureAccess::adopt_state<cf::Future<R>>(state);
        if (running) state->set_running_or_notify_cancel();
    }
    cf::detail::StateBase* state;
    cf::Future<R> future;
};

/// Completes a fresh remote future of type R from `reply` with `decoder`, as the manager
/// does: an undecodable reply fails the call (the pool breaks). Traps unless the call ended.
template <class R>
void decode_reply(cf::detail::ReplyDecoder decoder, std::string_view reply) {
    RemoteFuture<R> f;
    try {
        decoder(f.state, reply);
    } catch (...) {
        cf::detail::CallBook::fail(f.state, std::current_exception());
    }
    f.state->release();
    if (!f.future.done()) __builtin_trap();
}

/// Takes bytes off the front of the fuzzer's input.
class Input {
public:
    Input(const std::uint8_t* data, std::size_t size) : p_(reinterpret_cast<const char*>(data)), n_(size) {}
    [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
    std::uint8_t byte() {
        if (n_ == 0) return 0;
        --n_;
        return static_cast<std::uint8_t>(*p_++);
    }
    std::string_view take(std::size_t k) {
        k = k < n_ ? k : n_;
        std::string_view s(p_, k);
        p_ += k;
        n_ -= k;
        return s;
    }
    std::string_view rest() { return take(n_); }

private:
    const char* p_;
    std::size_t n_;
};

}  // namespace cf_fuzz
