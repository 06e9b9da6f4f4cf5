// cf::wait: Python's concurrent.futures.wait.
#pragma once

#include <algorithm>
#include <cfutures/detail/chrono.hpp>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <unordered_set>
#include <vector>

#include <cfutures/detail/future_range.hpp>
#include <cfutures/detail/waiter.hpp>

namespace cf {

/// When wait() returns.
enum class ReturnWhen {
    FIRST_COMPLETED,  ///< as soon as any future is done or cancelled
    FIRST_EXCEPTION,  ///< at the first future that raised, or when all are done
    ALL_COMPLETED,    ///< when all futures are done or cancelled
};
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::FIRST_COMPLETED;
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::FIRST_EXCEPTION;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::ALL_COMPLETED;

/// Python's DoneAndNotDoneFutures: `auto [done, not_done] = cf::wait(fs);`
template <class H>
struct WaitResult {
    /// The futures that were done (finished or cancelled) when wait() returned.
    std::unordered_set<H> done;
    /// The others.
    std::unordered_set<H> not_done;
};

namespace detail {

template <class H>
WaitResult<H> wait_impl(std::vector<H> fs, const Deadline& deadline, ReturnWhen return_when) {
    Waiter::Kind kind;
    switch (return_when) {
        case ReturnWhen::FIRST_COMPLETED: kind = Waiter::Kind::any; break;
        case ReturnWhen::FIRST_EXCEPTION: kind = Waiter::Kind::all_or_exception; break;
        case ReturnWhen::ALL_COMPLETED: kind = Waiter::Kind::all; break;
        default: throw std::invalid_argument("cf::wait: invalid return_when value");
    }
    std::vector<StateBase*> pending;
    std::vector<bool> is_done(fs.size());
    bool any_done = false;
    bool raised = false;
    for (std::size_t i = 0; i < fs.size(); ++i) {
        StateBase* s = FutureAccess::state(fs[i]);
        if (s->done()) {
            is_done[i] = true;
            any_done = true;
            raised = raised || s->finished_with_exception();
        } else {
            pending.push_back(s);
        }
    }
    const bool satisfied = pending.empty() || (return_when == ReturnWhen::FIRST_COMPLETED && any_done) ||
                           (return_when == ReturnWhen::FIRST_EXCEPTION && raised);
    std::vector<StateBase*> finished;  // completed while we waited, as Python's waiter.finished_futures
    if (!satisfied) {
        Waiter waiter(kind, pending);
        waiter.wait(deadline);
        finished = waiter.take_finished();
    }
    std::sort(finished.begin(), finished.end());
    // Done at the start, or reported by the waiter (as Python: not merely done by now).
    // Partition once, then build each set at its final size (no rehashing).
    std::size_t n_done = 0;
    for (std::size_t i = 0; i < fs.size(); ++i) {
        if (!is_done[i] && !finished.empty())
            is_done[i] = std::binary_search(finished.begin(), finished.end(), FutureAccess::state(fs[i]));
        n_done += is_done[i];
    }
    WaitResult<H> r;
    r.done.reserve(n_done);
    r.not_done.reserve(fs.size() - n_done);
    for (std::size_t i = 0; i < fs.size(); ++i) (is_done[i] ? r.done : r.not_done).insert(std::move(fs[i]));
    return r;
}

}  // namespace detail

/// Waits for the futures in `fs` (any range of Future<T> or AnyFuture; duplicates collapse)
/// until `return_when` holds; returns the done and not-done sets.
template <detail::future_range R>
WaitResult<detail::handle_of_t<R>> wait(R&& fs, ReturnWhen return_when = ALL_COMPLETED) {
    using H = detail::handle_of_t<R>;
    return detail::wait_impl(detail::distinct_futures<H>(fs), std::nullopt, return_when);
}

/// As wait(fs, return_when), returning once `timeout` has passed whatever the state.
template <detail::future_range R, class Rep, class Period>
WaitResult<detail::handle_of_t<R>> wait(R&& fs, std::chrono::duration<Rep, Period> timeout,
                                        ReturnWhen return_when = ALL_COMPLETED) {
    using H = detail::handle_of_t<R>;
    return detail::wait_impl(detail::distinct_futures<H>(fs), detail::deadline_after(timeout), return_when);
}

// Braced lists: cf::wait({f1, f2}) for futures of one type, or of mixed types (as AnyFuture).
template <class T>
WaitResult<Future<T>> wait(std::initializer_list<Future<T>> fs, ReturnWhen return_when = ALL_COMPLETED) {
    return detail::wait_impl(detail::distinct_futures<Future<T>>(fs), std::nullopt, return_when);
}
template <class T, class Rep, class Period>
WaitResult<Future<T>> wait(std::initializer_list<Future<T>> fs, std::chrono::duration<Rep, Period> timeout,
                           ReturnWhen return_when = ALL_COMPLETED) {
    return detail::wait_impl(detail::distinct_futures<Future<T>>(fs), detail::deadline_after(timeout), return_when);
}
inline WaitResult<AnyFuture> wait(std::initializer_list<AnyFuture> fs, ReturnWhen return_when = ALL_COMPLETED) {
    return detail::wait_impl(detail::distinct_futures<AnyFuture>(fs), std::nullopt, return_when);
}
template <class Rep, class Period>
WaitResult<AnyFuture> wait(std::initializer_list<AnyFuture> fs, std::chrono::duration<Rep, Period> timeout,
                           ReturnWhen return_when = ALL_COMPLETED) {
    return detail::wait_impl(detail::distinct_futures<AnyFuture>(fs), detail::deadline_after(timeout), return_when);
}

}  // namespace cf
