#include <cfutures/detail/call_timer.hpp>

#include <pthread.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace cf::detail {

namespace {
/// Set on a timer thread whose timer was destroyed by what a call's time_out() ran (a
/// done-callback holding the last handle of its pool): the thread must not touch it again.
thread_local bool tls_timer_destroyed = false;
}  // namespace

struct CallTimer::Impl {
    std::mutex mutex;
    std::condition_variable cv;
    std::map<Key, TimedCall*> entries;  // guarded by mutex
    std::uint64_t next = 0;             // guarded by mutex
    bool stopping = false;              // guarded by mutex
    std::thread thread;

    void run() {
        pthread_setname_np(pthread_self(), "cfutures-timer");
        std::unique_lock lk(mutex);
        while (!stopping) {
            if (entries.empty()) {
                cv.wait(lk);
                continue;
            }
            const auto first = entries.begin();
            // A copy: wait_until reads its deadline while the lock is released, when a
            // disarm may free the entry.
            const Clock::time_point when = first->first.first;
            if (Clock::now() < when) {
                cv.wait_until(lk, when);
                continue;
            }
            TimedCall* call = first->second;
            entries.erase(first);
            lk.unlock();
            call->time_out();
            call->timer_released();
            if (tls_timer_destroyed) return;  // this object is gone: touch nothing
            lk.lock();
        }
    }
};

CallTimer::CallTimer() : impl_(std::make_unique<Impl>()) {}

CallTimer::~CallTimer() {
    Impl& m = *impl_;
    {
        std::lock_guard g(m.mutex);
        m.stopping = true;
    }
    m.cv.notify_all();
    if (m.thread.joinable() && m.thread.get_id() == std::this_thread::get_id()) {
        tls_timer_destroyed = true;
        m.thread.detach();
        return;
    }
    if (m.thread.joinable()) m.thread.join();
}

CallTimer::Key CallTimer::arm(TimedCall& call, Clock::time_point deadline) {
    Impl& m = *impl_;
    std::unique_lock lk(m.mutex);
    const Key key{deadline, m.next++};
    const bool earliest = m.entries.empty() || key < m.entries.begin()->first;
    m.entries.emplace(key, &call);
    if (!m.thread.joinable()) {
        m.thread = std::thread([&m] { m.run(); });
        return key;
    }
    lk.unlock();
    if (earliest) m.cv.notify_one();  // the timer sleeps until a later deadline
    return key;
}

void CallTimer::disarm(const Key& key) noexcept {
    Impl& m = *impl_;
    TimedCall* call = nullptr;
    {
        std::lock_guard g(m.mutex);
        auto it = m.entries.find(key);
        if (it == m.entries.end()) return;  // fired: time_out() runs or ran
        call = it->second;
        m.entries.erase(it);
    }
    call->timer_released();
}

}  // namespace cf::detail
