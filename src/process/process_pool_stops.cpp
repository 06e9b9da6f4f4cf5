// Stopping calls on a process pool (API.md, "stopping calls"; stop_board.hpp): a call's
// deadline, request_stop(), and what the pool does with the worker running it and the
// calls handed to that worker behind it.
#include "process_pool_core.hpp"

namespace cf::detail {

using namespace process_manager;

void ProcessPoolCore::stop_in_flight(Worker& w, std::uint64_t id) {
    // A call before the stop target has ended: the target had begun when it was
    // stopped, and the worker runs calls in order. Its reply is on its way (dropped).
    if (w.stopping || id < w.stop_target) return;
    if (w.board && w.board->skip(id)) {
        // Not begun, and will not be: the future has ended; the skipped frame will come.
        return;
    }
    w.stop_target = id;
    if (w.in_flight.front().id == id) halt_and_kill(w);
}

void ProcessPoolCore::halt_and_kill(Worker& w) {
    const std::uint64_t id = w.stop_target;
    w.stop_target = 0;
    if (w.board && !w.board->halt(id)) return;  // it ended: its reply is on its way
    kill_to_stop(w, id);
}

void ProcessPoolCore::kill_to_stop(Worker& w, std::uint64_t id) {
    if (!w.stopping) ++stopping_workers_;
    w.stopping = true;
    w.killed_for = id;
    w.deadline = CallWindow::Clock::time_point::max();
    std::lock_guard g(mutex_);
    ::kill(w.pid, SIGKILL);  // still in live_pids_: not reaped, so not reused
    // No longer one of the pool's workers (worker_pids()), though its exit may take a
    // while (a sanitizer's process unmaps terabytes of shadow): nothing signals it again,
    // and it is reaped when its pidfd says it has ended.
    live_pids_.erase(w.pid);
}

void ProcessPoolCore::stop_cancelled_calls() {
    for (auto& [key, w] : workers_) {
        if (w.stopping) continue;
        if (w.lane && w.lane->stopped_call_runs()) {
            kill_to_stop(w, 0);
            continue;
        }
        std::vector<std::uint64_t> stopped;
        for (const auto& sent : w.in_flight) {
            StateBase* state = book_.state_of(sent.id);
            if (state && state->cancelled() && sent.id != w.stop_target) stopped.push_back(sent.id);
        }
        for (std::uint64_t id : stopped) stop_in_flight(w, id);
    }
}

void ProcessPoolCore::expire_deadlines(CallWindow::Clock::time_point now) {
    for (auto& [key, w] : workers_) {
        if (w.deadline > now) continue;
        w.deadline = CallWindow::Clock::time_point::max();
        if (w.in_flight.empty() || w.stopping) continue;
        const auto& first = w.in_flight.front();
        if (time_out(first.id, first.timeout)) stop_in_flight(w, first.id);
    }
}

CallWindow::Clock::time_point ProcessPoolCore::next_deadline() const {
    auto next = CallWindow::Clock::time_point::max();
    for (const auto& [key, w] : workers_) next = std::min(next, w.deadline);
    return next;
}

void ProcessPoolCore::requeue_unbegun(Worker& w) {
    std::vector<std::uint64_t> again;
    for (const auto& sent : w.in_flight) {
        StateBase* state = book_.state_of(sent.id);
        if (sent.id == w.killed_for || !state || state->done()) {
            if (auto call = book_.take(sent.id)) call->state->release();
        } else {
            again.push_back(sent.id);
        }
    }
    w.in_flight.clear();
    book_.requeue_front(again);
}

}  // namespace cf::detail
