// cf::MapResult: what Executor::map returns, Python's result_iterator as an
// input range. Holds the futures of the calls submitted so far and, with a
// buffersize, the source that submits the next ones as results are taken.
#pragma once

#include <cfutures/detail/chrono.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <variant>
#include <vector>

#include <cfutures/detail/chunk_outcomes.hpp>
#include <cfutures/detail/completion_queue.hpp>
#include <cfutures/detail/deadline.hpp>
#include <cfutures/executor.hpp>
#include <cfutures/future.hpp>

namespace cf {

namespace detail {

/// Submits map() calls one at a time; returns nullopt once the inputs run out
/// or the executor is gone.
template <class Unit>
class UnitSource {
public:
    virtual ~UnitSource() = default;
    virtual std::optional<Unit> next() = 0;
    /// How many calls the unit next() returned last holds (a chunk's length).
    [[nodiscard]] virtual std::size_t last_size() const noexcept { return 1; }
};

/// The order a MapResult yields in: map's input order, or map_unordered's completion order.
enum class MapOrder { input, completion };

inline void check_map_options(const MapOptions& o) {
    if (o.chunksize < 1) throw std::invalid_argument("map: chunksize must be >= 1, got 0");
    if (o.buffersize && *o.buffersize == 0) throw std::invalid_argument("map: buffersize must be >= 1, got 0");
    check_call_timeout(o.call_timeout, "map: MapOptions::call_timeout");
}

}  // namespace detail

/// The results of Executor::map, in input order (of map_unordered, in the order the
/// calls finish: a result that is in is yielded before any wait). Single pass.
///
/// `*it` waits for the call at the iterator's position and returns its value,
/// or throws its exception (iteration may go on past it), or throws
/// TimeoutError once the map's timeout has passed (then the calls not yet
/// started are cancelled and the range is exhausted). Destroying the result
/// before the end cancels the calls not yet started.
///
/// `Unit` is what one submission yields: a Future<R> per call, or, for
/// process-based executors with a chunksize, a future holding the outcomes of
/// a whole chunk (a chunk that fails as a whole, e.g. on a broken pool, throws
/// at its first position and is skipped by the next ++).
template <class R, class Unit = Future<R>>
class MapResult {
    static constexpr bool chunked = !std::is_same_v<Unit, Future<R>>;

public:
    /// What the calls return (std::monostate for void calls).
    using value_type = detail::map_value_t<R>;

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 false positive on the engaged optional's payload once this is inlined into the
// caller (seen with -fsanitize=thread): the read is guarded by the engaged check.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
    /// Made by an executor's map(): submits every call (with a buffersize, the first ones).
    MapResult(const MapOptions& options, std::unique_ptr<detail::UnitSource<Unit>> source,
              detail::MapOrder order = detail::MapOrder::input)
        : timeout_(options.timeout),
          deadline_(detail::deadline_after(options.timeout)),
          source_(std::move(source)),
          finished_(order == detail::MapOrder::completion ? std::make_shared<detail::CompletionQueue>() : nullptr) {
        if (options.buffersize) {
            while (pending_.size() < *options.buffersize && pull()) {
            }
        } else {
            while (pull()) {
            }
            source_.reset();  // eager: every input has been consumed and submitted
        }
    }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
    /// Movable, not copyable (it owns the futures of the calls).
    MapResult(MapResult&&) noexcept = default;
    /// Takes over another result's calls; this one's are dropped, not cancelled.
    MapResult& operator=(MapResult&&) noexcept = default;
    ~MapResult() { cancel_pending(); }

    /// An input iterator over the results, in input order.
    class iterator {
    public:
        /// std::input_iterator's traits: it yields values by value.
        using iterator_category = std::input_iterator_tag;
        /// Required of an iterator; never used.
        using difference_type = std::ptrdiff_t;
        /// What the calls return.
        using value_type = detail::map_value_t<R>;
        /// By value: each result is taken once.
        using reference = value_type;

        iterator() = default;
        /// Waits for the call at this position: its value, or its exception thrown
        /// (TimeoutError once the map's timeout has passed).
        value_type operator*() const { return owner_->take_front(); }
        /// The next position (with a buffersize, submits the next call).
        iterator& operator++() {
            owner_->pop_front();
            return *this;
        }
        /// As ++it.
        void operator++(int) { ++*this; }
        /// True once every result has been taken.
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.at_end(); }

    private:
        friend class MapResult;
        explicit iterator(MapResult* owner) : owner_(owner) {}
        bool at_end() const noexcept { return !owner_ || owner_->pending_.empty(); }
        MapResult* owner_ = nullptr;
    };

    /// The first position; single pass.
    iterator begin() { return iterator(this); }
    /// The end: compares equal to an iterator once every result has been taken.
    std::default_sentinel_t end() const noexcept { return {}; }

    /// Collects every remaining result into a vector (rethrows the first failure).
    std::vector<value_type> to_vector() {
        std::vector<value_type> out;
        for (auto&& v : *this) out.push_back(std::move(v));
        return out;
    }

private:
    bool pull() {
        if (!source_) return false;
        std::optional<Unit> f = source_->next();
        if (!f) {
            source_.reset();
            return false;
        }
        if (finished_) {
            // Completion order: the call reports its position in pending_ (counted from the
            // first call) when it is done; the queue outlives this range if need be.
            f->add_done_callback([queue = finished_, seq = base_ + pending_.size()](const Unit&) { queue->push(seq); });
            taken_.push_back(false);
        }
        pending_.push_back(std::move(*f));
        if constexpr (chunked) sizes_.push_back(source_->last_size());
        return true;
    }

    /// The call being read: the first in input order, or the one that finished next.
    Unit& current() { return finished_ ? pending_[*current_ - base_] : pending_.front(); }

    /// Completion order: makes the next call to finish the one being read (waits for it).
    void select_finished() {
        if (current_) return;
        current_ = finished_->pop(deadline_);
        if (!current_) {
            cancel_pending();
            detail::throw_timeout("map_unordered()", *timeout_);  // only a timeout gives a deadline
        }
    }

    value_type take_front() {
        if (finished_) select_finished();
        // Only the map's own deadline passing is a map timeout; a TimeoutError thrown by
        // the call itself is that call's outcome, and iteration goes on past it.
        if (!detail::FutureAccess::state(current())->wait(deadline_)) {
            cancel_pending();
            detail::throw_timeout("map()", *timeout_);  // only a map with a timeout has a deadline
        }
        if constexpr (chunked) {
            return take_from_chunk();
        } else {
            // map() never hands its futures out, so the value can be moved out of the state.
            auto* state = static_cast<detail::ResultState<R>*>(detail::FutureAccess::state(current()));
            if constexpr (std::is_void_v<R>) {
                state->get(deadline_);
                return std::monostate{};
            } else {
                return state->take(deadline_);
            }
        }
    }

    value_type take_from_chunk() {
        if (!chunk_) {
            using Outcomes = typename Unit::value_type;
            auto* state = static_cast<detail::ResultState<Outcomes>*>(detail::FutureAccess::state(current()));
            try {
                chunk_.emplace(state->take(deadline_));
            } catch (const TimeoutError&) {
                // The chunk ran past its calls' limit (the map's own deadline was checked
                // before): every call of it fails with that TimeoutError, position by position.
                chunk_.emplace();
                const std::size_t n = finished_ ? sizes_[*current_ - base_] : sizes_.front();
                for (std::size_t i = 0; i < n; ++i) chunk_->push_exception(std::current_exception());
                throw;
            } catch (...) {
                chunk_.emplace();  // failed as a whole: the next ++ skips it
                throw;
            }
        }
        return chunk_->take(index_);
    }

    void pop_front() {
        if (pending_.empty()) return;
        if (finished_) select_finished();  // ++ before any *: skips the next call to finish
        if constexpr (chunked) {
            if (chunk_ && ++index_ < chunk_->size()) return;
            chunk_.reset();
            index_ = 0;
        }
        if (finished_) {
            taken_[*current_ - base_] = true;
            current_.reset();
            // Calls read out of order leave pending_ once every call before them is read too.
            while (!taken_.empty() && taken_.front()) {
                taken_.pop_front();
                pending_.pop_front();
                if constexpr (chunked) sizes_.pop_front();
                ++base_;
            }
        } else {
            pending_.pop_front();
            if constexpr (chunked) sizes_.pop_front();
        }
        pull();  // with a buffersize, keep that many calls in flight
    }

    void cancel_pending() noexcept {
        for (const Unit& f : pending_) f.cancel();
        pending_.clear();
        sizes_.clear();
        taken_.clear();
        current_.reset();
        source_.reset();
    }

    std::optional<std::chrono::nanoseconds> timeout_;
    detail::Deadline deadline_;
    std::deque<Unit> pending_;
    std::unique_ptr<detail::UnitSource<Unit>> source_;
    // completion order only: the calls' finishing order, which of pending_ have been read,
    // the position of pending_.front() among all calls, and the call being read
    std::shared_ptr<detail::CompletionQueue> finished_;
    std::deque<bool> taken_;
    std::uint64_t base_ = 0;
    std::optional<std::uint64_t> current_;
    // chunked only: the outcomes of the front chunk, once taken, and the position in it
    std::optional<detail::ChunkOutcomes<R>> chunk_;
    std::size_t index_ = 0;
    std::deque<std::size_t> sizes_;  // chunked only: how many calls each of pending_ holds
};

}  // namespace cf
