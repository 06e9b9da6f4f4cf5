// One thread per pool that ends calls at their deadlines (CallOptions::timeout on a
// thread pool): no thread per call, and none at all until a call with a timeout runs.
//
//   worker thread: arm(call, deadline) ──► entries_ (mutex_) ◄── disarm(call): it returned first
//                                            │
//                  timer thread: the earliest deadline passes ──► call.time_out()
//
// A call is armed only while it runs, on a worker thread that keeps the pool, and so
// its timer, alive: the timer never outlives the calls it holds.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include <cfutures/detail/futex.hpp>

namespace cf::detail {

/// A call that runs under a CallTimer.
class TimedCall {
public:
    /// The timer thread, at the call's deadline (the entry is gone already).
    virtual void time_out() noexcept = 0;
    /// The timer is done with the call: after time_out(), or when disarm() removed it.
    virtual void timer_released() noexcept = 0;

protected:
    ~TimedCall() = default;
};

class CallTimer {
public:
    CallTimer();
    CallTimer(const CallTimer&) = delete;
    CallTimer& operator=(const CallTimer&) = delete;
    ~CallTimer();

    /// An armed call's place in the timer, kept by the call.
    using Key = std::pair<Clock::time_point, std::uint64_t>;

    /// Ends `call` at `deadline` unless disarmed first; starts the timer thread at the
    /// first call. The timer holds `call` until it lets go (timer_released()).
    Key arm(TimedCall& call, Clock::time_point deadline);
    /// The call returned: removes its entry (then lets go of it) unless it fired already.
    void disarm(const Key& key) noexcept;

private:
    // The thread, its lock and the entries: in the .cpp, so that a thread-pool user's
    // build does not parse <map>, <condition_variable> and <thread> for them.
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cf::detail
