// How many calls a remote executor's manager keeps in flight per worker.
//
// A call that has been sent can no longer be cancelled, and it waits behind
// the worker's other calls, so Python keeps about one per worker. That costs
// a full round trip through the manager per call when calls are short: the
// worker idles while its next call travels. The window adapts instead: it
// allows as many calls in flight as the worker will finish in about
// kBacklog, judged from how long recent calls took (an exponentially
// weighted average), never fewer than kMin nor more than kMax. Slow calls
// (CPython's test_cancel_futures sleeps 0.1 s per call) keep the window at 2,
// so queued calls stay cancellable; microsecond calls open it to hundreds.
// The estimate is trusted only while replies keep coming: after kBacklog
// without one, the window is back to kMin until the next reply, so a burst of
// slow calls after a pause is not shipped on the strength of old fast ones.
// (A burst within kBacklog of fast replies still is: the price of speed.)
#pragma once

#include <algorithm>
#include <cfutures/detail/chrono.hpp>
#include <cstddef>

namespace cf::detail {

class CallWindow {
public:
    using Clock = std::chrono::steady_clock;

    static constexpr std::size_t kMin = 2;
    static constexpr std::size_t kMax = 512;
    static constexpr std::chrono::nanoseconds kBacklog = std::chrono::milliseconds(1);

    /// Calls a worker may have in flight at `now`.
    [[nodiscard]] std::size_t size(Clock::time_point now) const noexcept {
        if (average_ns_ <= 0 || now - last_reply_ > kBacklog) return kMin;  // no evidence, or stale
        const double fit = static_cast<double>(kBacklog.count()) / average_ns_;
        return std::clamp(static_cast<std::size_t>(fit), kMin, kMax);
    }

    /// A call's reply arrived at `now`. It was sent at `sent`; the worker's previous
    /// reply arrived at `previous_reply`: the call ran from the later of the two.
    void record(Clock::time_point sent, Clock::time_point previous_reply, Clock::time_point now) noexcept {
        // At least 1 ns: replies read in one batch look instantaneous, and the average must stay positive.
        const double took = std::max(1.0, static_cast<double>((now - std::max(sent, previous_reply)).count()));
        average_ns_ = average_ns_ <= 0 ? took : average_ns_ + (took - average_ns_) / 8;
        last_reply_ = now;
    }

private:
    double average_ns_ = 0;
    Clock::time_point last_reply_{};
};

}  // namespace cf::detail
