// cf::ProcessPoolExecutor: Python's ProcessPoolExecutor — calls run in worker
// processes, so a call that crashes breaks the pool (BrokenProcessPool)
// instead of the program. The data flow is drawn in docs/design.md.
#pragma once

#include <sys/types.h>

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
#include <cfutures/detail/zip_source.hpp>
#include <cfutures/exception_registry.hpp>
#include <cfutures/executor.hpp>
#include <cfutures/future.hpp>
#include <cfutures/map_result.hpp>
#include <cfutures/start_method.hpp>

namespace cf {

/// A callable taking no arguments that can run in a worker process: a function
/// pointer, a lambda without captures, or a serializable callable object.
class RemoteInitializer {
public:
    RemoteInitializer() = default;
    RemoteInitializer(std::nullptr_t) {}  // NOLINT: no initializer
    template <class F>
        requires(!std::is_same_v<std::decay_t<F>, RemoteInitializer> && !std::is_null_pointer_v<std::decay_t<F>> &&
                 std::is_invocable_v<std::decay_t<F>>)
    RemoteInitializer(F&& fn)  // NOLINT: implicit, so that `.initializer = &init` reads naturally
        : call_(detail::encode_call(std::decay_t<F>(std::forward<F>(fn)))) {}

    explicit operator bool() const noexcept { return !call_.empty(); }
    /// The encoded call.
    [[nodiscard]] const std::string& bytes() const noexcept { return call_; }

private:
    std::string call_;
};

/// Python's ProcessPoolExecutor(max_workers, mp_context, initializer, max_tasks_per_child) keywords.
struct ProcessPoolOptions {
    /// Default: the number of hardware threads.
    std::optional<int> max_workers;
    StartMethod start_method = StartMethod::ForkServer;
    /// Runs first in each worker; if it throws, the pool breaks (BrokenProcessPool).
    RemoteInitializer initializer;
    /// A worker is replaced after this many calls. Incompatible with Fork.
    std::optional<int> max_tasks_per_child;
};

namespace detail {

/// The manager of a process pool. Defined in src/process/process_pool.cpp.
class ProcessPoolCore;

/// Queues an encoded call whose reply `decode` turns into `state`'s result (taking over
/// one reference to `state`). Throws, after releasing it, when the pool takes no more work.
void process_pool_submit(ProcessPoolCore& core, StateBase* state, std::string call, ReplyDecoder decode);

template <class R>
Future<R> submit_encoded(ProcessPoolCore& core, std::string call, ReplyDecoder decode) {
    auto* state = new ResultState<R>();
    state->init_refs(2);
    Future<R> future = FutureAccess::adopt_state<Future<R>>(state);
    process_pool_submit(core, state, std::move(call), decode);
    return future;
}

}  // namespace detail

/// A pool of worker processes that run submitted calls; see Python's ProcessPoolExecutor.
class ProcessPoolExecutor : public Executor {
public:
    /// max_workers = hardware threads, ForkServer.
    ProcessPoolExecutor();
    /// Throws std::invalid_argument when max_workers <= 0.
    explicit ProcessPoolExecutor(int max_workers);
    /// Throws std::invalid_argument for max_workers <= 0, max_tasks_per_child < 1,
    /// or max_tasks_per_child with Fork.
    explicit ProcessPoolExecutor(ProcessPoolOptions options);
    /// shutdown(true).
    ~ProcessPoolExecutor() override;

    /// Schedules fn(args...) in a worker. fn: a function pointer, a lambda without
    /// captures or a serializable callable; args and result: serializable.
    /// Throws what encoding the arguments throws, std::runtime_error after shutdown,
    /// BrokenProcessPool when broken.
    template <class Fn, class... Args>
        requires std::invocable<std::decay_t<Fn>, std::decay_t<Args>...>
    auto submit(Fn&& fn, Args&&... args) {
        using F = std::decay_t<Fn>;
        using R = detail::call_result_t<Fn, Args...>;
        std::string call = detail::encode_call<F, std::decay_t<Args>...>(fn, args...);
        return detail::submit_encoded<R>(*core_, std::move(call), &detail::complete_call<R>);
    }

    /// map(fn, ranges..., [MapOptions]): with chunksize > 1, each chunk of calls
    /// travels to a worker as one message.
    template <class Fn, class... Args>
    [[nodiscard]] auto map(Fn&& fn, Args&&... args) {
        return detail::split_map_args(
            [&](const MapOptions& options, auto&&... ranges) {
                return map_impl(options, std::forward<Fn>(fn), std::forward<decltype(ranges)>(ranges)...);
            },
            std::forward<Args>(args)...);
    }

    void shutdown(bool wait = true, bool cancel_futures = false) override;

    /// SIGTERM every worker, then shutdown(wait=false, cancel_futures=true):
    /// the calls they were running fail with BrokenProcessPool.
    void terminate_workers();
    /// As terminate_workers(), with SIGKILL.
    void kill_workers();

    [[nodiscard]] int max_workers() const noexcept;
    /// The pids of the worker processes alive now.
    [[nodiscard]] std::vector<pid_t> worker_pids() const;

private:
    template <class Fn, class... Ranges>
    class Source;

    template <class Fn, class... Ranges>
    auto map_impl(const MapOptions& options, Fn&& fn, Ranges&&... ranges) {
        static_assert(sizeof...(Ranges) > 0, "map needs at least one input range");
        static_assert((std::ranges::input_range<Ranges> && ...), "map's inputs must be ranges");
        using F = std::decay_t<Fn>;
        using R = detail::call_result_t<Fn, std::ranges::range_reference_t<Ranges>...>;
        detail::check_map_options(options);
        using S = Source<F, Ranges...>;
        auto source = std::make_unique<S>(std::weak_ptr<detail::ProcessPoolCore>(core_), options.chunksize,
                                          std::forward<Fn>(fn), std::forward<Ranges>(ranges)...);
        return MapResult<R, typename S::Unit>(options, std::move(source));
    }

    std::shared_ptr<detail::ProcessPoolCore> core_;
};

template <class Fn, class... Ranges>
class ProcessPoolExecutor::Source final
    : public detail::UnitSource<Future<detail::ChunkOutcomes<
          detail::call_result_t<Fn, std::ranges::range_reference_t<Ranges>...>>>> {
    using R = detail::call_result_t<Fn, std::ranges::range_reference_t<Ranges>...>;

public:
    /// Every map() on a process pool travels in chunks (of one call when chunksize is 1),
    /// so that a failed call fails only its own position.
    using Unit = Future<detail::ChunkOutcomes<R>>;

    template <class F>
    Source(std::weak_ptr<detail::ProcessPoolCore> core, std::size_t chunksize, F&& fn, Ranges&&... ranges)
        : core_(std::move(core)), chunksize_(chunksize), fn_(std::forward<F>(fn)), zip_(std::forward<Ranges>(ranges)...) {}

    std::optional<Unit> next() override {
        auto core = core_.lock();
        if (!core || zip_.exhausted()) return std::nullopt;
        std::vector<std::tuple<std::remove_cvref_t<std::ranges::range_reference_t<Ranges>>...>> items;
        while (items.size() < chunksize_ && !zip_.exhausted()) {
            zip_.consume([&](auto&&... args) { items.emplace_back(args...); });
        }
        std::string call = detail::encode_chunk(fn_, items);
        return detail::submit_encoded<detail::ChunkOutcomes<R>>(*core, std::move(call), &detail::complete_chunk<R>);
    }

private:
    std::weak_ptr<detail::ProcessPoolCore> core_;
    std::size_t chunksize_;
    Fn fn_;
    detail::ZipSource<Ranges...> zip_;
};

}  // namespace cf
