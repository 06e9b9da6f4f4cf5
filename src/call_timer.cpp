#include <cfutures/detail/call_timer.hpp>

#include <pthread.h>

namespace cf::detail {

namespace {
/// Set on a timer thread whose timer was destroyed by what a call's time_out() ran (a
/// done-callback holding the last handle of its pool): the thread must not touch it again.
thread_local bool tls_timer_destroyed = false;
}  // namespace

CallTimer::~CallTimer() {
    {
        std::lock_guard g(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable() && thread_.get_id() == std::this_thread::get_id()) {
        tls_timer_destroyed = true;
        thread_.detach();
        return;
    }
    if (thread_.joinable()) thread_.join();
}

CallTimer::Key CallTimer::arm(TimedCall& call, Clock::time_point deadline) {
    std::unique_lock lk(mutex_);
    const Key key{deadline, next_++};
    const bool earliest = entries_.empty() || key < entries_.begin()->first;
    entries_.emplace(key, &call);
    if (!thread_.joinable()) {
        thread_ = std::thread([this] { run(); });
        return key;
    }
    lk.unlock();
    if (earliest) cv_.notify_one();  // the timer sleeps until a later deadline
    return key;
}

void CallTimer::disarm(const Key& key) noexcept {
    TimedCall* call = nullptr;
    {
        std::lock_guard g(mutex_);
        auto it = entries_.find(key);
        if (it == entries_.end()) return;  // fired: time_out() runs or ran
        call = it->second;
        entries_.erase(it);
    }
    call->timer_released();
}

void CallTimer::run() {
    pthread_setname_np(pthread_self(), "cfutures-timer");
    std::unique_lock lk(mutex_);
    while (!stopping_) {
        if (entries_.empty()) {
            cv_.wait(lk);
            continue;
        }
        const auto first = entries_.begin();
        // A copy: wait_until reads its deadline while the lock is released, when a disarm
        // may free the entry.
        const Clock::time_point when = first->first.first;
        if (Clock::now() < when) {
            cv_.wait_until(lk, when);
            continue;
        }
        TimedCall* call = first->second;
        entries_.erase(first);
        lk.unlock();
        call->time_out();
        call->timer_released();
        if (tls_timer_destroyed) return;
        lk.lock();
    }
}

}  // namespace cf::detail
