#include "remote_manager.hpp"

#include <pthread.h>

#include <mutex>
#include <stdexcept>
#include <vector>
#include <utility>

#include <cfutures/call_options.hpp>
#include <cfutures/detail/type_name.hpp>

namespace cf::detail {

std::string describe_current_exception_text() {
    const std::exception_ptr e = std::current_exception();
    return exception_type_name(e) + ": " + exception_message(e);
}

int default_worker_count() noexcept {
    const unsigned hw = std::thread::hardware_concurrency();
    return hw ? static_cast<int>(hw) : 1;
}

namespace {
// The managers whose threads run, told when a running call is stopped (its state knows
// it is remote, not which manager runs it: a pointer per call would cost every call).
std::mutex g_managers_mutex;
std::vector<std::weak_ptr<RemoteManager>> g_managers;  // guarded by g_managers_mutex
}  // namespace

void remote_stop_requested() noexcept {
    std::vector<std::shared_ptr<RemoteManager>> live;
    {
        std::lock_guard g(g_managers_mutex);
        std::erase_if(g_managers, [](const std::weak_ptr<RemoteManager>& m) { return m.expired(); });
        for (const auto& m : g_managers) {
            if (auto p = m.lock()) live.push_back(std::move(p));
        }
    }
    for (const auto& m : live) m->note_stop_request();
}

void RemoteManager::note_stop_request() noexcept {
    stops_requested_.store(true, std::memory_order_seq_cst);
    wake();
}

void RemoteManager::submit(StateBase* state, std::string bytes, ReplyDecoder decode, std::chrono::nanoseconds timeout) {
    if (bytes.size() > max_call_bytes_) {
        state->release();
        throw std::length_error("cfutures: the call encodes to " + std::to_string(bytes.size()) +
                                " bytes, more than a call can carry (" + std::to_string(max_call_bytes_) + ")");
    }
    std::unique_lock lk(mutex_);
    if (broken_error_) {
        // The exception the executor broke with: it says why (which worker ended, and how).
        const auto error = broken_error_;
        lk.unlock();
        state->release();
        std::rethrow_exception(error);
    }
    if (shutdown_) {
        lk.unlock();
        state->release();
        throw ShutdownError();
    }
    if (!manager_.joinable()) {
        try {
            start_manager_locked();
        } catch (...) {
            lk.unlock();
            state->release();
            throw;
        }
    }
    // Calls submitted before and still waiting for a worker would be overtaken.
    // (A call with a timeout goes through the manager, which keeps the deadlines.)
    if (timeout.count() == 0 && submitted_.empty() && !calls_queued_.load(std::memory_order_relaxed) &&
        try_express_locked(state, bytes, decode))
        return;
    const bool was_empty = submitted_.empty();
    submitted_.push_back(PendingCall{state, std::move(bytes), decode, timeout});
    lk.unlock();
    if (was_empty) wake();  // else the manager has been woken, and takes them all at once
}

void RemoteManager::shutdown(bool wait, bool cancel_futures) {
    CancelHandshake::Request cancel;
    {
        std::lock_guard g(mutex_);
        shutdown_ = true;
        if (cancel_futures) cancel = cancel_.begin_locked(submitted_);
    }
    wake();
    cancel_.complete(cancel, mutex_, book_);
    if (!wait) return;
    // Callbacks run on the manager thread; one that shuts the executor down cannot join it.
    std::lock_guard jg(join_mutex_);
    if (manager_.joinable() && manager_.get_id() != std::this_thread::get_id()) manager_.join();
}

void RemoteManager::detach_if_self() {
    std::lock_guard jg(join_mutex_);
    if (manager_.joinable() && manager_.get_id() == std::this_thread::get_id()) manager_.detach();
}

void RemoteManager::start() {
    std::lock_guard g(mutex_);
    if (!manager_.joinable()) start_manager_locked();
}

void RemoteManager::start_manager_locked() {
    before_manager_starts_locked();
    manager_ = std::thread([self = shared_from_this()] { self->manager_main(); });
    cancel_.manager_started_locked(manager_.get_id());
    std::lock_guard g(g_managers_mutex);
    g_managers.push_back(weak_from_this());
}

void RemoteManager::manager_main() {
    ::pthread_setname_np(::pthread_self(), "cfutures-mgr");
    try {
        run_loop();
    } catch (...) {
        break_executor("the executor's manager failed: " + describe_current_exception_text());
    }
    cancel_.manager_gone(mutex_);  // every call is done or failed by now
    release_workers();
}

bool RemoteManager::take_submitted() {
    std::deque<PendingCall> fresh;
    std::uint64_t cancel = 0;
    std::exception_ptr broken_elsewhere;
    {
        std::lock_guard g(mutex_);
        fresh.swap(submitted_);
        // Set under the lock: a submitter after this point sees it and queues behind them.
        if (!fresh.empty()) calls_queued_.store(true, std::memory_order_relaxed);
        shutting_down_ = shutdown_;
        cancel = cancel_.pending_locked();
        broken_elsewhere = std::exchange(broken_elsewhere_, nullptr);
    }
    const bool any = !fresh.empty();
    book_.enqueue(fresh);  // first: a break below fails them with the others
    if (broken_elsewhere) {
        break_executor(broken_elsewhere);
        return true;
    }
    if (stops_requested_.exchange(false, std::memory_order_seq_cst)) stop_cancelled_calls();
    if (cancel != 0) {  // shutdown(cancel_futures=true): what has not been sent
        book_.cancel_queued();
        cancel_.served(mutex_, cancel);
    }
    return any || cancel != 0;
}

bool RemoteManager::complete(std::uint64_t id, std::string_view payload) {
    std::optional<PendingCall> taken = book_.take(id);
    if (!taken) return true;  // failed already
    PendingCall& call = *taken;
    try {
        call.decode(call.state, payload);
    } catch (...) {
        // A result that cannot be decoded breaks the executor, as in CPython. User load()
        // code may throw anything, not only std::exceptions. The executor is broken before
        // this future fails, so a submit after it has failed throws; the call is RUNNING,
        // so it fails through set_exception (abandon fails PENDING ones only).
        break_executor("a result could not be decoded: " + describe_current_exception_text());
        std::exception_ptr error;
        {
            std::lock_guard g(mutex_);
            error = broken_error_;
        }
        CallBook::fail(call.state, error);
        call.state->release();
        return false;
    }
    call.state->release();
    return true;
}

bool RemoteManager::time_out(std::uint64_t id, std::chrono::nanoseconds limit) {
    StateBase* state = book_.state_of(id);
    return state && state->fail_running(call_timeout_error(limit));
}

void RemoteManager::break_executor(const std::string& why) { break_executor(make_broken(why)); }

void RemoteManager::break_executor(const std::exception_ptr& error) {
    std::exception_ptr first;
    {
        std::lock_guard g(mutex_);
        if (!broken_error_) broken_error_ = error;
        first = broken_error_;
        shutdown_ = true;  // a broken executor's manager ends once its calls have failed
        book_.enqueue(submitted_);  // failed below with the others
        on_break_locked();
    }
    broken_here_ = true;
    shutting_down_ = true;
    // Every call fails with the first break's exception, the one submits throw too.
    book_.fail_all(first);
    on_break(first);
}

std::exception_ptr RemoteManager::break_from_elsewhere(const std::string& why) {
    std::exception_ptr error = make_broken(why);
    {
        std::lock_guard g(mutex_);
        if (!broken_error_) broken_error_ = error;
        if (!broken_elsewhere_) broken_elsewhere_ = broken_error_;
        error = broken_error_;
    }
    wake();
    return error;
}

}  // namespace cf::detail
