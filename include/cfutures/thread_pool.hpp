// cf::ThreadPoolExecutor: Python's ThreadPoolExecutor.
#pragma once

#include <cfutures/detail/functional.hpp>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <utility>

#include <cfutures/call_options.hpp>
#include <cfutures/detail/call_stop.hpp>
#include <cfutures/detail/map_args.hpp>
#include <cfutures/detail/task_state.hpp>
#include <cfutures/detail/zip_source.hpp>
#include <cfutures/executor.hpp>
#include <cfutures/future.hpp>
#include <cfutures/map_result.hpp>

namespace cf {

/// Python's ThreadPoolExecutor(max_workers, thread_name_prefix, initializer) keywords.
struct ThreadPoolOptions {
    /// Default: min(32, hardware threads + 4).
    std::optional<int> max_workers{};
    /// Threads are named "<prefix>_<n>"; default prefix "ThreadPoolExecutor-<k>".
    std::string thread_name_prefix{};
    /// Runs first in each worker thread; if it throws, the pool breaks (BrokenThreadPool).
    std::function<void()> initializer{};
};

namespace detail {

/// The part of the pool that outlives the executor object while workers or
/// lazy map() sources still need it. Defined in src/thread_pool.cpp.
class ThreadPoolCore;

/// Queues a task (taking over the queue's reference). Throws the shutdown or broken
/// error, after releasing that reference, when the pool takes no more work.
void thread_pool_enqueue(ThreadPoolCore& core, StateBase* task);

/// The pool's timer of calls with a timeout, started at the first.
CallTimer& thread_pool_timer(ThreadPoolCore& core);

/// Whether the thread pool can call `fn(args...)`, or `fn(token, args...)`.
template <class Fn, class... Args>
concept pool_callable = std::invocable<std::decay_t<Fn>, std::decay_t<Args>...> || takes_stop_token_v<Fn, Args...>;

/// Submits fn(args...) with a timeout, if any (checked by the caller).
template <class Fn, class... Args>
auto submit_to(ThreadPoolCore& core, const std::optional<std::chrono::nanoseconds>& timeout, Fn&& fn, Args&&... args) {
    using R = pool_call_result_t<Fn, Args...>;
    auto make_stoppable = [&] {
        CallTimer* timer = timeout ? &thread_pool_timer(core) : nullptr;
        return make_stoppable_task(timer, timeout.value_or(std::chrono::nanoseconds(0)), std::forward<Fn>(fn),
                                   std::forward<Args>(args)...);
    };
    StateBase* task = nullptr;
    if constexpr (takes_stop_token_v<Fn, Args...>) {
        task = make_stoppable();
    } else if (!timeout) {
        task = make_task(std::forward<Fn>(fn), std::forward<Args>(args)...);  // the plain, fastest kind
    } else {
        task = make_stoppable();
    }
    Future<R> future = FutureAccess::adopt_state<Future<R>>(task);
    thread_pool_enqueue(core, task);
    return future;
}

}  // namespace detail

/// A pool of threads that run submitted calls; see Python's ThreadPoolExecutor.
class ThreadPoolExecutor : public Executor {
public:
    /// max_workers = min(32, hardware threads + 4).
    ThreadPoolExecutor();
    /// Throws std::invalid_argument when max_workers <= 0.
    explicit ThreadPoolExecutor(int max_workers);
    /// Python's keywords; throws std::invalid_argument when max_workers <= 0.
    explicit ThreadPoolExecutor(ThreadPoolOptions options);
    /// shutdown(true).
    ~ThreadPoolExecutor() override;

    /// Schedules fn(args...) (decay-copied, as std::async) and returns its future. A `fn`
    /// whose first parameter is a std::stop_token is given one, asked to stop by the
    /// future's request_stop() (and by a timeout).
    /// Throws ShutdownError after shutdown, BrokenThreadPool when broken.
    template <class Fn, class... Args>
        requires detail::pool_callable<Fn, Args...>
    auto submit(Fn&& fn, Args&&... args) {
        return detail::submit_to(*core_, std::nullopt, std::forward<Fn>(fn), std::forward<Args>(args)...);
    }

    /// As submit(fn, args...), with options: a timeout fails the future with TimeoutError
    /// once the call has run that long (and asks its token to stop); the call keeps its
    /// thread until it returns, and what it returns is dropped. Throws
    /// std::invalid_argument when the timeout is not greater than zero.
    template <class Fn, class... Args>
        requires detail::pool_callable<Fn, Args...>
    auto submit(const CallOptions& options, Fn&& fn, Args&&... args) {
        detail::check_call_timeout(options.timeout, "submit: CallOptions::timeout");
        return detail::submit_to(*core_, options.timeout, std::forward<Fn>(fn), std::forward<Args>(args)...);
    }

    /// map(fn, ranges..., [MapOptions]): fn over the zipped ranges, results in input order.
    template <class Fn, class... Args>
    [[nodiscard]] auto map(Fn&& fn, Args&&... args) {
        return detail::split_map_args(
            [&](const MapOptions& options, auto&&... ranges) {
                return map_impl(options, std::forward<Fn>(fn), std::forward<decltype(ranges)>(ranges)...);
            },
            std::forward<Args>(args)...);
    }

    void shutdown(bool wait = true, bool cancel_futures = false) override;

    /// The most worker threads the pool starts.
    [[nodiscard]] int max_workers() const noexcept;
    /// How many worker threads have been started so far.
    [[nodiscard]] int thread_count() const noexcept;
    /// The prefix of the worker threads' names.
    [[nodiscard]] const std::string& thread_name_prefix() const noexcept;

private:
    template <class Fn, class... Ranges>
    class Source;

    template <class Fn, class... Ranges>
    auto map_impl(const MapOptions& options, Fn&& fn, Ranges&&... ranges) {
        static_assert(sizeof...(Ranges) > 0, "map needs at least one input range");
        static_assert((std::ranges::input_range<Ranges> && ...), "map's inputs must be ranges");
        using R = detail::pool_call_result_t<Fn, std::ranges::range_reference_t<Ranges>...>;
        detail::check_map_options(options);
        auto source = std::make_unique<Source<std::decay_t<Fn>, Ranges...>>(
            std::weak_ptr<detail::ThreadPoolCore>(core_), options.call_timeout, std::forward<Fn>(fn),
            std::forward<Ranges>(ranges)...);
        return MapResult<R>(options, std::move(source));
    }

    std::shared_ptr<detail::ThreadPoolCore> core_;
};

/// map()'s input side (private): submits the next call as results are taken.
template <class Fn, class... Ranges>
class ThreadPoolExecutor::Source final
    : public detail::UnitSource<Future<detail::pool_call_result_t<Fn, std::ranges::range_reference_t<Ranges>...>>> {
    using R = detail::pool_call_result_t<Fn, std::ranges::range_reference_t<Ranges>...>;

public:
    template <class F>
    Source(std::weak_ptr<detail::ThreadPoolCore> core, std::optional<std::chrono::nanoseconds> call_timeout, F&& fn,
           Ranges&&... ranges)
        : core_(std::move(core)), call_timeout_(call_timeout), fn_(std::forward<F>(fn)),
          zip_(std::forward<Ranges>(ranges)...) {}

    std::optional<Future<R>> next() override {
        // Like Python's weakref to the executor: once it is gone, no more calls are submitted.
        auto core = core_.lock();
        if (!core || zip_.exhausted()) return std::nullopt;
        return zip_.consume([&](auto&&... args) {
            return detail::submit_to(*core, call_timeout_, fn_, std::forward<decltype(args)>(args)...);
        });
    }

private:
    std::weak_ptr<detail::ThreadPoolCore> core_;
    std::optional<std::chrono::nanoseconds> call_timeout_;
    Fn fn_;
    detail::ZipSource<Ranges...> zip_;
};

}  // namespace cf
