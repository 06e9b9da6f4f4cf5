// Keeps a long chain of continuations off the stack. Links of a chain complete
// one another: a source's completion fires link 1, whose completion fires link
// 2, and so on, each inside the last; freeing an unfinished chain nests the
// same way. Past kMaxChainDepth nested links on one thread, the next one is
// queued on that thread and run (or released) by the outermost link once it
// returns: still in the completing thread, before the outermost call returns.
#pragma once

#include <atomic>

#include <cfutures/detail/shared_state.hpp>

namespace cf::detail {

/// How deep links may nest before they queue. Each nested link takes a few hundred
/// bytes of stack: 256 of them stay far below a thread's 8 MiB (without the queue,
/// 150,000 links of a chain overflowed it at -O2).
inline constexpr int kMaxChainDepth = 256;

/// A link's firing, queued: it lives inside the link's state, so queueing allocates nothing.
struct DeferredFire {
    DeferredFire* next = nullptr;
    StateBase* self = nullptr;
    StateBase* source = nullptr;
    void (*fire)(StateBase& self, StateBase& source) noexcept = nullptr;
};

inline thread_local int tls_chain_depth = 0;
inline thread_local DeferredFire* tls_fires_first = nullptr;
inline thread_local DeferredFire* tls_fires_last = nullptr;
inline thread_local int tls_release_depth = 0;
inline thread_local QueueLink* tls_releases = nullptr;  // through next_in_queue: a link is in no executor's queue

/// Calls fire(self, source) now, or queues it (holding both states) when nested too deep.
inline void fire_bounded(DeferredFire& slot, StateBase& self, StateBase& source,
                         void (*fire)(StateBase&, StateBase&) noexcept) noexcept {
    if (tls_chain_depth >= kMaxChainDepth) {
        self.add_ref();
        source.add_ref();
        slot = DeferredFire{nullptr, &self, &source, fire};
        if (tls_fires_last) tls_fires_last->next = &slot;
        else tls_fires_first = &slot;
        tls_fires_last = &slot;
        return;
    }
    ++tls_chain_depth;
    fire(self, source);
    if (tls_chain_depth == 1) {
        while (DeferredFire* d = tls_fires_first) {  // in the order queued
            tls_fires_first = d->next;
            if (!tls_fires_first) tls_fires_last = nullptr;
            StateBase* queued = d->self;
            StateBase* from = d->source;
            d->fire(*queued, *from);  // may queue more
            from->release();
            queued->release();
        }
    }
    --tls_chain_depth;
}

/// state.release(), or, nested too deep, queued for the outermost release to do.
inline void release_bounded(StateBase& state) noexcept {
    if (tls_release_depth >= kMaxChainDepth) {
        state.next_in_queue.store(tls_releases, std::memory_order_relaxed);
        tls_releases = &state;
        return;
    }
    ++tls_release_depth;
    state.release();
    if (tls_release_depth == 1) {
        while (QueueLink* q = tls_releases) {
            tls_releases = q->next_in_queue.load(std::memory_order_relaxed);
            static_cast<StateBase*>(q)->release();  // may queue more
        }
    }
    --tls_release_depth;
}

}  // namespace cf::detail
