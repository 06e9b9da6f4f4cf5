// The states behind Future::then: each is the returned future's shared state
// and, at once, the callback node linked on the source future. So `then`
// allocates once, and the continuation lives exactly as long as the new
// future: the source's list holds one reference, the returned handle another.
//
//   source ──(callback list holds a ref)──► ThenState<R> ◄── Future<R> (the caller)
//
// A source that dies without completing lets go of its nodes
// (StateBase::~StateBase), so a chain hanging from it is freed link by link.
#pragma once

#include <atomic>
#include <exception>
#include <cfutures/detail/functional.hpp>
#include <optional>
#include <type_traits>
#include <utility>

#include <cfutures/detail/chain_depth.hpp>
#include <cfutures/detail/result_state.hpp>
#include <cfutures/detail/state_ref.hpp>
#include <cfutures/errors.hpp>

namespace cf {
template <class T>
class Future;
}

namespace cf::detail {

/// Ret, or U when Ret is Future<U>: what a `then` whose fn returns Ret gives a future of.
template <class Ret>
struct unwrapped : std::false_type {
    using type = Ret;
};
template <class U>
struct unwrapped<Future<U>> : std::true_type {
    using type = U;
};

/// The typed state a `then` returns, and the node it hangs on its source by.
template <class R>
class ChainState : public ResultState<R>, public CallbackNode {
public:
    using chained_type = R;

    /// One reference for the returned future, one for the source's callback list.
    ChainState() noexcept : CallbackNode(/*internal=*/false) { this->init_refs(2); }

    /// The source lets go of the node: drop the reference it held (an unfinished chain
    /// freed with its source frees link after link: bounded, see chain_depth.hpp).
    void let_go() noexcept override { release_bounded(*this); }

    /// Ends this state as the done state `src` ended when `src` did not succeed:
    /// cancelled, or with its exception. Returns whether `src` failed so.
    bool fail_like(StateBase& src) noexcept {
        if (src.cancelled()) {
            // A continuation already running cannot become CANCELLED: it raises it instead.
            if (!this->cancel()) fail_with(std::make_exception_ptr(CancelledError()));
            return true;
        }
        if (!src.finished_with_exception()) return false;
        const std::exception_ptr e = src.exception(Deadline{});
        this->abandon(e);  // still PENDING (a skipped continuation): drops fn at once
        fail_with(e);      // RUNNING (one that follows another future); a no-op once done
        return true;
    }

    /// Ends this state as the done state `src` (a ResultState<R>) ended. With `Move`,
    /// takes the value out: for sources nobody else reads.
    template <bool Move>
    void settle_like(StateBase& src) noexcept {
        if (fail_like(src)) return;
        if (!this->claim_finish()) return;  // cancelled by its owner meanwhile
        if constexpr (std::is_void_v<R>) {
            this->store_and_commit();
        } else {
            auto& typed = static_cast<ResultState<R>&>(src);
            if constexpr (Move) this->store_and_commit(typed.take(Deadline{}));
            else this->store_and_commit(typed.value());
        }
    }

    /// Fails this state, unless it is done already.
    void fail_with(std::exception_ptr e) noexcept {
        if (!this->claim_finish()) return;
        this->exception_ = std::move(e);
        this->commit_finish();
    }
};

/// Makes `self` end as `src` will (a second allocation, only when `src` is not done yet).
template <class R, bool Move>
class Follow final : public CallbackNode {
public:
    explicit Follow(ChainState<R>* self) noexcept : CallbackNode(/*internal=*/false), self_(self) {}
    void fire(StateBase& src) noexcept override { self_->template settle_like<Move>(src); }

private:
    StateRef<ChainState<R>> self_;
};

template <class R, bool Move>
void follow(ChainState<R>* self, StateBase& src) noexcept {
    if (src.done()) self->template settle_like<Move>(src);
    else src.add_callback(new Follow<R, Move>(self));
}

/// `fn` stored in place, destroyed as soon as it has run or will never run.
template <class Fn>
class StoredFn {
public:
    explicit StoredFn(Fn&& fn) : fn_(std::move(fn)) {}
    StoredFn(const StoredFn&) = delete;
    StoredFn& operator=(const StoredFn&) = delete;
    ~StoredFn() { drop(); }

    Fn& get() noexcept { return fn_; }
    void drop() noexcept {
        if (alive_) {
            alive_ = false;
            fn_.~Fn();
        }
    }

private:
    union {
        Fn fn_;
    };
    bool alive_ = true;
};

template <class T, class Fn>
struct takes_value : std::is_invocable<Fn, const T&> {};
template <class Fn>
struct takes_value<void, Fn> : std::is_invocable<Fn> {};

/// Whether a `then` continuation takes the finished future rather than its value: a
/// callable that takes both (a generic lambda) gets the value.
template <class T, class Fn>
inline constexpr bool takes_future_v =
    std::conjunction_v<std::negation<takes_value<T, Fn>>, std::is_invocable<Fn, Future<T>>>;

/// Calls `fn` with what a `then` continuation takes from the done source `src`.
template <class T, class Fn>
decltype(auto) invoke_with_source(Fn&& fn, StateBase& src) {
    if constexpr (takes_future_v<T, std::decay_t<Fn>>) {
        return detail::invoke(std::forward<Fn>(fn), FutureAccess::from_state<Future<T>>(&src));
    } else if constexpr (std::is_void_v<T>) {
        return detail::invoke(std::forward<Fn>(fn));
    } else {
        return detail::invoke(std::forward<Fn>(fn), static_cast<ResultState<T>&>(src).value());
    }
}

/// What `fn` returns when a `then` calls it on a Future<T>.
template <class T, class Fn>
using then_fn_result_t = std::decay_t<decltype(invoke_with_source<T>(std::declval<Fn>(), std::declval<StateBase&>()))>;

/// A continuation run where the source completes: f.then(fn).
template <class T, class Fn, class Ret = then_fn_result_t<T, Fn>>
class ThenState final : public ChainState<typename unwrapped<Ret>::type> {
    static constexpr bool kUnwraps = unwrapped<Ret>::value;
    static constexpr bool kTakesFuture = takes_future_v<T, Fn>;
    using R = typename unwrapped<Ret>::type;

public:
    explicit ThenState(Fn&& fn) : fn_(std::move(fn)) {}

    /// `src` is done already and this state is still the caller's alone: runs at once. A
    /// plain value continuation that will run then completes without any atomic
    /// read-modify-write (what makes a chain from a ready future cheap).
    void run_now(StateBase& src) noexcept {
        if constexpr (!kUnwraps) {
            if (kTakesFuture || (!src.cancelled() && !src.finished_with_exception())) {
                this->init_refs(1);  // the source's list never takes its reference
                try {
                    if constexpr (std::is_void_v<R>) {
                        invoke_with_source<T>(std::move(fn_.get()), src);
                        fn_.drop();
                        this->store_unshared();
                    } else {
                        R value = invoke_with_source<T>(std::move(fn_.get()), src);
                        fn_.drop();
                        this->store_unshared(std::move(value));
                    }
                } catch (...) {
                    fn_.drop();
                    this->exception_ = std::current_exception();
                    this->finish_unshared();
                }
                return;
            }
        }
        fire(src);
        this->let_go();
    }

    /// Links of a chain fire one inside the other: bounded (chain_depth.hpp).
    void fire(StateBase& src) noexcept override {
        fire_bounded(deferred_, *this, src, [](StateBase& self, StateBase& source) noexcept {
            static_cast<ThenState&>(self).fire_now(source);
        });
    }

private:
    void fire_now(StateBase& src) noexcept {
        if (!kTakesFuture && this->fail_like(src)) return;  // a value continuation is skipped
        if (!this->try_start()) return;                     // cancelled: fn is gone already
        try {
            if constexpr (kUnwraps) {
                Ret inner = invoke_with_source<T>(std::move(fn_.get()), src);
                fn_.drop();
                follow<R, false>(this, *FutureAccess::state(inner));
            } else if constexpr (std::is_void_v<R>) {
                invoke_with_source<T>(std::move(fn_.get()), src);
                fn_.drop();
                if (this->claim_finish()) this->store_and_commit();
            } else {
                R value = invoke_with_source<T>(std::move(fn_.get()), src);
                fn_.drop();
                if (this->claim_finish()) this->store_and_commit(std::move(value));
            }
        } catch (...) {
            fn_.drop();
            this->fail_with(std::current_exception());
        }
    }

    // cancel() of a PENDING continuation: it will never run.
    void release_call() noexcept override { fn_.drop(); }

    StoredFn<Fn> fn_;
    DeferredFire deferred_;
};

/// What `ex.submit(fn, value)` returns for a Future<T>'s value.
template <class T, class Ex, class Fn>
auto submit_with_value(Ex& ex, Fn&& fn, StateBase& src) {
    if constexpr (std::is_void_v<T>) return ex.submit(std::forward<Fn>(fn));
    else return ex.submit(std::forward<Fn>(fn), static_cast<ResultState<T>&>(src).value());
}

template <class T, class Ex, class Fn>
using submitted_t = decltype(submit_with_value<T>(std::declval<Ex&>(), std::declval<Fn>(), std::declval<StateBase&>()));

/// A continuation submitted to an executor: f.then(ex, fn). It stays PENDING until the
/// submitted call ends, so that cancelling it cancels that call too.
template <class T, class Ex, class Fn, class R = typename submitted_t<T, Ex, Fn>::value_type>
class ExecutorThenState final : public ChainState<R> {
public:
    ExecutorThenState(Ex& ex, Fn&& fn) : ex_(&ex), fn_(std::move(fn)) {}
    ~ExecutorThenState() override {
        StateBase* call = call_.load(std::memory_order_acquire);
        if (call && call != cancelled_mark()) call->release();
    }

    void fire(StateBase& src) noexcept override {
        if (this->fail_like(src)) return;
        if (fn_taken_.exchange(true, std::memory_order_acq_rel)) return;  // cancelled first
        std::optional<submitted_t<T, Ex, Fn>> submitted;
        try {
            submitted.emplace(submit_with_value<T>(*ex_, std::move(fn_.get()), src));
        } catch (...) {  // refused: shut down, broken, or an argument that cannot be sent
            fn_.drop();
            this->fail_with(std::current_exception());
            return;
        }
        fn_.drop();
        StateBase* call = FutureAccess::state(*submitted);
        call->add_ref();  // for call_
        if (call_.exchange(call, std::memory_order_acq_rel) == cancelled_mark()) call->cancel();
        // The submitted future is ours alone once `submitted` goes: its value can be moved.
        follow<R, true>(this, *call);
    }

private:
    static StateBase* cancelled_mark() noexcept { return reinterpret_cast<StateBase*>(alignof(StateBase)); }

    // cancel() while PENDING: before the submit, the call never happens; after, it is cancelled.
    void release_call() noexcept override {
        if (!fn_taken_.exchange(true, std::memory_order_acq_rel)) fn_.drop();
        StateBase* call = call_.exchange(cancelled_mark(), std::memory_order_acq_rel);
        if (call) {
            call->cancel();
            call->release();
        }
    }

    Ex* ex_;
    StoredFn<Fn> fn_;
    std::atomic<bool> fn_taken_{false};     // by whichever of fire() and cancel() comes first
    std::atomic<StateBase*> call_{nullptr};  // the submitted call, or cancelled_mark()
};

}  // namespace cf::detail
