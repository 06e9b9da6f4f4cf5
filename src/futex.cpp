#include <cfutures/detail/futex.hpp>

#include <climits>
#include <ctime>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cf::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, const Deadline& deadline) noexcept {
    timespec ts{};
    timespec* tsp = nullptr;
    if (deadline) {
        if (*deadline == Clock::time_point::max()) {
            tsp = nullptr;  // effectively forever
        } else {
            // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, which is what steady_clock is.
            const auto since_epoch = deadline->time_since_epoch();
            const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
            ts.tv_sec = static_cast<time_t>(secs.count());
            ts.tv_nsec = static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count());
            tsp = &ts;
            if (Clock::now() >= *deadline) return false;
        }
    }
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET_PRIVATE, expected, tsp, nullptr,
            FUTEX_BITSET_MATCH_ANY);
    return !deadline || Clock::now() < *deadline;
}

void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

}  // namespace cf::detail
