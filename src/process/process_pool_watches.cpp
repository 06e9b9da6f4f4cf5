// Replies a process worker holds behind a long call (reply_courier.hpp): the manager
// watches each worker with calls queued behind the one it runs, and pokes its courier.
#include "process_pool_core.hpp"

#include "../worker_runtime/reply_courier.hpp"

namespace cf::detail {

using namespace process_manager;

void ProcessPoolCore::resume_watch(Worker& w, CallWindow::Clock::time_point now) {
    w.watch_at = now + kReplyHold;
    if (w.watched || !w.board) return;
    w.board->set_watched(true);  // before the calls go out: the worker reads it before each
    w.watched = true;
}

void ProcessPoolCore::check_watches(CallWindow::Clock::time_point now, bool before_blocking) {
    for (auto& [key, w] : workers_) {
        if (!w.watched || w.stopping || (!before_blocking && now < w.watch_at)) continue;
        const std::uint64_t oldest = w.in_flight.empty() ? 0 : w.in_flight.front().id;
        if (w.in_flight.size() < 2 || w.board->begun() <= oldest) {
            // Cleared, then `begun` read again: a worker that began another call meanwhile
            // either sees the word clear (and sets its timer) or is seen here.
            w.board->set_watched(false);
            if (w.in_flight.size() < 2 || w.board->begun() <= oldest) {
                w.watched = false;
                continue;
            }
            w.board->set_watched(true);
        }
        w.board->poke();
        w.watch_at = now + kReplyHold;
    }
}

CallWindow::Clock::time_point ProcessPoolCore::next_watch() const {
    auto next = CallWindow::Clock::time_point::max();
    for (const auto& [key, w] : workers_)
        if (w.watched && !w.stopping) next = std::min(next, w.watch_at);
    return next;
}

}  // namespace cf::detail
