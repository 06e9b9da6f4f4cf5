// cf::as_completed: Python's concurrent.futures.as_completed, as an input range.
#pragma once

#include <cfutures/detail/chrono.hpp>
#include <cstddef>
#include <deque>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <cfutures/detail/future_range.hpp>
#include <cfutures/detail/waiter.hpp>

namespace cf {

/// The range as_completed() returns. It yields each distinct future once, the
/// already-done ones first, then the others as they complete; once the
/// deadline fixed at the call has passed, advancing throws TimeoutError
/// ("N (of M) futures unfinished"). It keeps no reference to a future it has
/// yielded. Single pass: dereference each position once (as range-for does).
template <class H>
class AsCompleted {
public:
    /// Made by as_completed(); `deadline` none: wait forever.
    AsCompleted(std::vector<H> fs, detail::Deadline deadline) : total_(fs.size()), deadline_(deadline) {
        std::vector<detail::StateBase*> pending_states;
        for (H& f : fs) {
            detail::StateBase* s = detail::FutureAccess::state(f);
            if (s->done()) {
                ready_.push_back(std::move(f));
            } else {
                pending_states.push_back(s);
                pending_.emplace(s, std::move(f));
            }
        }
        if (!pending_states.empty())
            waiter_ = std::make_unique<detail::Waiter>(detail::Waiter::Kind::any, pending_states);
    }
    /// Movable, not copyable (it owns the futures not yet yielded).
    AsCompleted(AsCompleted&&) noexcept = default;
    /// Takes over another range's futures.
    AsCompleted& operator=(AsCompleted&&) noexcept = default;
    ~AsCompleted() {
        waiter_.reset();  // unhook from the futures while pending_ still keeps them alive
    }

    /// An input iterator over the futures as they complete.
    class iterator {
    public:
        /// std::input_iterator's traits: it yields futures by value.
        using iterator_category = std::input_iterator_tag;
        /// Required of an iterator; never used.
        using difference_type = std::ptrdiff_t;
        /// A future, yielded by value.
        using value_type = H;
        /// Also by value: the range gives each future away.
        using reference = H;

        iterator() = default;
        /// Hands over the current future; the range no longer refers to it.
        H operator*() const { return std::move(*owner_->current_); }
        /// Waits for the next future to complete (may throw TimeoutError).
        iterator& operator++() {
            owner_->advance();
            return *this;
        }
        /// As ++it.
        void operator++(int) { ++*this; }
        /// True once every future has been yielded.
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.at_end(); }

    private:
        friend class AsCompleted;
        explicit iterator(AsCompleted* owner) : owner_(owner) {}
        bool at_end() const noexcept { return !owner_ || !owner_->current_; }
        AsCompleted* owner_ = nullptr;
    };

    /// Fetches the first future (may block, may throw TimeoutError).
    iterator begin() {
        advance();
        return iterator(this);
    }
    /// The end: compares equal to an iterator once every future has been yielded.
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    void advance() {
        current_.reset();
        if (ready_.empty() && !pending_.empty()) collect();
        if (ready_.empty()) return;
        current_.emplace(std::move(ready_.front()));
        ready_.pop_front();
    }

    void collect() {
        for (;;) {
            if (deadline_ && detail::Clock::now() >= *deadline_) {
                throw TimeoutError(std::to_string(pending_.size()) + " (of " + std::to_string(total_) +
                                   ") futures unfinished");
            }
            waiter_->wait(deadline_);
            for (detail::StateBase* s : waiter_->take_finished()) {
                auto it = pending_.find(s);
                if (it == pending_.end()) continue;
                ready_.push_back(std::move(it->second));
                pending_.erase(it);
            }
            if (!ready_.empty()) return;
        }
    }

    std::size_t total_;
    detail::Deadline deadline_;
    std::deque<H> ready_;
    std::unordered_map<detail::StateBase*, H> pending_;
    std::unique_ptr<detail::Waiter> waiter_;
    std::optional<H> current_;
};

/// Yields the futures of `fs` (any range of Future<T> or AnyFuture) as they complete.
template <detail::future_range R>
AsCompleted<detail::handle_of_t<R>> as_completed(R&& fs) {
    using H = detail::handle_of_t<R>;
    return AsCompleted<H>(detail::distinct_futures<H>(fs), std::nullopt);
}
/// As as_completed(fs), throwing TimeoutError once `timeout` has passed since this call.
template <detail::future_range R, class Rep, class Period>
AsCompleted<detail::handle_of_t<R>> as_completed(R&& fs, std::chrono::duration<Rep, Period> timeout) {
    using H = detail::handle_of_t<R>;
    return AsCompleted<H>(detail::distinct_futures<H>(fs), detail::deadline_after(timeout));
}
template <class T>
AsCompleted<Future<T>> as_completed(std::initializer_list<Future<T>> fs) {
    return AsCompleted<Future<T>>(detail::distinct_futures<Future<T>>(fs), std::nullopt);
}
template <class T, class Rep, class Period>
AsCompleted<Future<T>> as_completed(std::initializer_list<Future<T>> fs, std::chrono::duration<Rep, Period> timeout) {
    return AsCompleted<Future<T>>(detail::distinct_futures<Future<T>>(fs), detail::deadline_after(timeout));
}
inline AsCompleted<AnyFuture> as_completed(std::initializer_list<AnyFuture> fs) {
    return AsCompleted<AnyFuture>(detail::distinct_futures<AnyFuture>(fs), std::nullopt);
}
template <class Rep, class Period>
AsCompleted<AnyFuture> as_completed(std::initializer_list<AnyFuture> fs, std::chrono::duration<Rep, Period> timeout) {
    return AsCompleted<AnyFuture>(detail::distinct_futures<AnyFuture>(fs), detail::deadline_after(timeout));
}

}  // namespace cf
