// Thin wrappers over Linux futexes: the one blocking primitive cfutures parks on.
// std::atomic::wait has no timeout, and a condition variable per future would
// cost 48 bytes; a futex on the future's state word costs nothing until used.
#pragma once

#include <atomic>
#include <cfutures/detail/chrono.hpp>
#include <cstdint>
#include <optional>

namespace cf::detail {

using Clock = std::chrono::steady_clock;
using Deadline = std::optional<Clock::time_point>;

/// Blocks while `word == expected`, until woken or `deadline` passes.
/// Returns false only when the deadline has passed. Spurious returns happen.
bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, const Deadline& deadline) noexcept;

/// Wakes up to `count` threads blocked in futex_wait on `word`.
void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

/// A CPU hint for spin loops.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/// Spins (with cpu_relax) until `ready()` or `budget` has passed; returns ready().
/// Bounded by time, not by a count of pauses: a pause costs 10 to 150 cycles
/// depending on the CPU.
template <class Ready>
bool spin_for(Ready&& ready, std::chrono::nanoseconds budget) {
    const auto until = Clock::now() + budget;
    for (;;) {
        for (int i = 0; i < 32; ++i) {
            if (ready()) return true;
            cpu_relax();
        }
        if (Clock::now() >= until) return ready();
    }
}

}  // namespace cf::detail
