// What every executor whose calls cross a process boundary has in common
// (the process pool, the MPI executors): submit and map over encoded calls.
// Only the core differs — the thing that moves bytes to workers — reached
// through `remote_submit(Core&, state, call, decode)`, found by ADL.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <cfutures/detail/map_args.hpp>
#include <cfutures/detail/remote_call.hpp>
#include <cfutures/detail/remote_stop_token.hpp>
#include <cfutures/detail/stop_token_traits.hpp>
#include <cfutures/detail/zip_source.hpp>
#include <cfutures/executor.hpp>
#include <cfutures/future.hpp>
#include <cfutures/map_result.hpp>

namespace cf::detail {

/// A call was stopped while it ran (RUNNING -> CANCELLED): every remote manager that
/// stops running calls looks for it in its workers. Defined in src/remote/.
void remote_stop_requested() noexcept;

/// How an executor whose calls cross a process boundary stops a running call: by killing
/// its worker (the process pool), or by asking the call's std::stop_token (the MPI
/// executors: a rank runs a call to its end).
enum class RemoteStop { by_kill, by_token };

/// Refuses, at compile time, a callable that takes a std::stop_token on an executor that
/// stops calls by killing their worker.
template <RemoteStop kStop, class Fn, class... Args>
constexpr bool refuse_stop_token() {
    static_assert(kStop == RemoteStop::by_token || !takes_stop_token_v<Fn, Args...>,
                  "cfutures: a ProcessPoolExecutor cannot give a call a std::stop_token: it stops a "
                  "running call by killing its worker (request_stop(), CallOptions::timeout). "
                  "Take no std::stop_token, or submit to a ThreadPoolExecutor or an MPI executor.");
    return true;
}

/// The callable that travels for `Fn`: wrapped when it takes a token.
template <class Fn, class... Args>
auto remote_callable(Fn&& fn) {
    if constexpr (takes_stop_token_v<Fn, Args...>) {
        return WithStopToken<std::decay_t<Fn>>{std::forward<Fn>(fn)};
    } else {
        return std::decay_t<Fn>(std::forward<Fn>(fn));
    }
}

/// The state of a remote call: it can keep the helper its core gives it (an express
/// lane, whose reply the waiting thread takes itself).
template <class R>
class RemoteState final : public ResultState<R> {
public:
    /// `stop`: how its executor stops a running call; `takes_token`: whether the call
    /// takes a std::stop_token.
    RemoteState(RemoteStop stop, bool takes_token) noexcept : stop_(stop), takes_token_(takes_token) {}
    void set_wait_helper(std::shared_ptr<WaitHelper> helper) noexcept override { helper_ = std::move(helper); }
    bool take_stop_request() noexcept override { return stop_asked_.exchange(false, std::memory_order_acq_rel); }

protected:
    void destroy() noexcept override { delete this; }
    WaitHelper* wait_helper() const noexcept override { return helper_.get(); }
    /// request_stop() of a running call. By kill: CANCELLED at once, and the manager
    /// kills its worker. By token: the manager tells the worker to ask the call's token,
    /// and the future ends as the call does; false when the call takes no token.
    bool stop_running() noexcept override {
        if (stop_ == RemoteStop::by_token) {
            if (!takes_token_) return false;
            stop_asked_.store(true, std::memory_order_release);
        } else {
            if (!this->cancel_running()) return false;
            if (helper_) helper_->stop_requested(*this);  // in an express lane
        }
        remote_stop_requested();
        return true;
    }

private:
    std::shared_ptr<WaitHelper> helper_;  // set by the core before the future is handed out
    const RemoteStop stop_;
    const bool takes_token_;
    std::atomic<bool> stop_asked_{false};  // by token: the manager has not told the worker yet
};

/// A new future for an encoded call, queued on `core` (which takes the second reference).
template <class R, class Core>
Future<R> submit_encoded(Core& core, std::string call, ReplyDecoder decode,
                         std::chrono::nanoseconds timeout = std::chrono::nanoseconds(0), bool takes_token = false) {
    auto* state = new RemoteState<R>(remote_stop_of(&core), takes_token);
    state->init_refs(2);
    Future<R> future = FutureAccess::adopt_state<Future<R>>(state);
    remote_submit(core, state, std::move(call), decode, timeout);
    return future;
}

/// map()'s input side for remote executors: every map travels in chunks (of one call
/// when chunksize is 1) whose reply holds one outcome per item, so that a failed call
/// fails only its own position.
template <class Core, class Fn, class... Ranges>
class RemoteMapSource final
    : public UnitSource<Future<ChunkOutcomes<call_result_t<Fn, std::ranges::range_reference_t<Ranges>...>>>> {
    using R = call_result_t<Fn, std::ranges::range_reference_t<Ranges>...>;

public:
    using Unit = Future<ChunkOutcomes<R>>;

    template <class F>
    RemoteMapSource(std::weak_ptr<Core> core, std::size_t chunksize, std::optional<std::chrono::nanoseconds> call_timeout,
                    F&& fn, Ranges&&... ranges)
        : core_(std::move(core)), chunksize_(chunksize), call_timeout_(call_timeout.value_or(std::chrono::nanoseconds(0))),
          fn_(std::forward<F>(fn)), zip_(std::forward<Ranges>(ranges)...) {}

    std::optional<Unit> next() override {
        // Like Python's weakref to the executor: once it is gone, no more calls are submitted.
        auto core = core_.lock();
        if (!core || zip_.exhausted()) return std::nullopt;
        std::vector<wire_args_t<Fn, std::ranges::range_reference_t<Ranges>...>> items;
        while (items.size() < chunksize_ && !zip_.exhausted()) {
            zip_.consume([&](auto&&... args) { items.emplace_back(args...); });
        }
        // A chunk of n calls may run n times a call's limit (API.md).
        const auto timeout = call_timeout_ * static_cast<std::int64_t>(items.size());
        last_size_ = items.size();
        return submit_encoded<ChunkOutcomes<R>>(*core, encode_chunk(fn_, items), &complete_chunk<R>, timeout,
                                                is_with_stop_token_v<Fn>);
    }

    [[nodiscard]] std::size_t last_size() const noexcept override { return last_size_; }

private:
    std::weak_ptr<Core> core_;
    std::size_t chunksize_;
    std::chrono::nanoseconds call_timeout_;  // zero: none
    std::size_t last_size_ = 1;  // the calls in the chunk next() returned last
    Fn fn_;
    ZipSource<Ranges...> zip_;
};

/// The submit/map half of a remote executor; the derived class provides shutdown.
template <class Core>
class RemoteExecutor : public Executor {
public:
    /// Schedules fn(args...) in a worker. fn: a function pointer, a lambda without
    /// captures or a serializable callable; args and result: serializable.
    /// Throws what encoding the arguments throws, std::runtime_error after shutdown,
    /// a BrokenExecutor when broken.
    template <class Fn, class... Args>
        requires(std::invocable<std::decay_t<Fn>, std::decay_t<Args>...> || takes_stop_token_v<Fn, Args...>)
    auto submit(Fn&& fn, Args&&... args) {
        return submit_timed(std::chrono::nanoseconds(0), std::forward<Fn>(fn), std::forward<Args>(args)...);
    }

    /// As submit(fn, args...), with options: a call that runs longer than its timeout
    /// fails with TimeoutError at once (a process pool kills and replaces the worker
    /// running it; an MPI rank runs it to its end, and its result is dropped). Throws
    /// std::invalid_argument when the timeout is not greater than zero.
    template <class Fn, class... Args>
        requires(std::invocable<std::decay_t<Fn>, std::decay_t<Args>...> || takes_stop_token_v<Fn, Args...>)
    auto submit(const CallOptions& options, Fn&& fn, Args&&... args) {
        check_call_timeout(options.timeout, "submit: CallOptions::timeout");
        return submit_timed(options.timeout.value_or(std::chrono::nanoseconds(0)), std::forward<Fn>(fn),
                            std::forward<Args>(args)...);
    }

    /// map(fn, ranges..., [MapOptions]): with chunksize > 1, each chunk of calls
    /// travels to a worker as one message.
    template <class Fn, class... Args>
    [[nodiscard]] auto map(Fn&& fn, Args&&... args) {
        return split_map_args(
            [&](const MapOptions& options, auto&&... ranges) {
                return map_impl(options, std::forward<Fn>(fn), MapOrder::input, std::forward<decltype(ranges)>(ranges)...);
            },
            std::forward<Args>(args)...);
    }

    /// map() whose results come in the order the calls finish (mpi4py.futures'
    /// `unordered=True`): a result that is in is yielded before any wait, the
    /// options as map's (a buffersize keeps that many calls or chunks in flight;
    /// a timeout throws only when no result is in by then).
    template <class Fn, class... Args>
    [[nodiscard]] auto map_unordered(Fn&& fn, Args&&... args) {
        return split_map_args(
            [&](const MapOptions& options, auto&&... ranges) {
                return map_impl(options, std::forward<Fn>(fn), MapOrder::completion,
                                std::forward<decltype(ranges)>(ranges)...);
            },
            std::forward<Args>(args)...);
    }

protected:
    explicit RemoteExecutor(std::shared_ptr<Core> core) : core_(std::move(core)) {}

    std::shared_ptr<Core> core_;

private:
    static constexpr RemoteStop kStop = remote_stop_of(static_cast<const Core*>(nullptr));

    template <class Fn, class... Args>
    auto submit_timed(std::chrono::nanoseconds timeout, Fn&& fn, Args&&... args) {
        constexpr bool kToken = takes_stop_token_v<Fn, Args...>;
        static_assert(refuse_stop_token<kStop, Fn, Args...>());
        if constexpr (kToken && kStop == RemoteStop::by_kill) {
            return Future<void>();  // refused above: no more errors than the static_assert's
        } else {
            auto callable = remote_callable<Fn, Args...>(std::forward<Fn>(fn));
            using F = decltype(callable);
            using R = call_result_t<F, Args...>;
            std::string call = encode_call_as(static_cast<wire_args_t<F, Args...>*>(nullptr), callable, args...);
            return submit_encoded<R>(*core_, std::move(call), &complete_call<R>, timeout, kToken);
        }
    }

    template <class Fn, class... Ranges>
    auto map_impl(const MapOptions& options, Fn&& fn, MapOrder order, Ranges&&... ranges) {
        static_assert(sizeof...(Ranges) > 0, "map needs at least one input range");
        static_assert((std::ranges::input_range<Ranges> && ...), "map's inputs must be ranges");
        constexpr bool kToken = takes_stop_token_v<Fn, std::ranges::range_reference_t<Ranges>...>;
        static_assert(refuse_stop_token<kStop, Fn, std::ranges::range_reference_t<Ranges>...>());
        if constexpr (kToken && kStop == RemoteStop::by_kill) {
            return;  // refused above
        } else {
            auto callable = remote_callable<Fn, std::ranges::range_reference_t<Ranges>...>(std::forward<Fn>(fn));
            using F = decltype(callable);
            using R = call_result_t<F, std::ranges::range_reference_t<Ranges>...>;
            check_map_options(options);
            using Source = RemoteMapSource<Core, F, Ranges...>;
            auto source = std::make_unique<Source>(std::weak_ptr<Core>(core_), options.chunksize, options.call_timeout,
                                                   std::move(callable), std::forward<Ranges>(ranges)...);
            return MapResult<R, typename Source::Unit>(options, std::move(source), order);
        }
    }
};

}  // namespace cf::detail
