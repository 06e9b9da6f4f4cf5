// The typed half of a future's shared state: where the result lives.
#pragma once

#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include <cfutures/detail/shared_state.hpp>
#include <cfutures/errors.hpp>

namespace cf::detail {

template <class T>
class ResultState : public StateBase {
    static_assert(!std::is_reference_v<T>, "cf::Future<T&> is not supported: return a pointer or std::reference_wrapper");
    static_assert(std::is_move_constructible_v<T> || std::is_void_v<T>,
                  "a future's result type must be move-constructible");

public:
    ResultState() noexcept {}
    ~ResultState() override {
        if (has_value()) value_.~T();
    }

    /// Python's set_result; throws InvalidStateError when already done.
    template <class U>
    void set_result(U&& v) {
        if (!claim_finish()) throw_already_done();
        store_and_commit(std::forward<U>(v));
    }

    /// The stored value; only valid once finished without an exception.
    [[nodiscard]] const T& value() const noexcept { return value_; }

    /// Python's result(timeout).
    const T& get(const Deadline& deadline) const {
        check_result(deadline);
        return value_;
    }
    /// As get(), moving the value out: for owners that know no one else reads it.
    T take(const Deadline& deadline) {
        check_result(deadline);
        return std::move(value_);
    }

protected:
    void destroy() noexcept override { delete this; }
    const std::type_info& result_type() const noexcept override { return typeid(T); }

    /// Stores the value of a claimed (FINISHING) state and publishes it. A value
    /// whose constructor throws finishes the future with that exception instead.
    template <class U>
    void store_and_commit(U&& v) noexcept {
        construct_value(std::forward<U>(v));
        commit_finish();
    }

    void check_result(const Deadline& deadline) const {
        if (!wait(deadline)) throw TimeoutError();
        if (cancelled()) throw CancelledError();
        if (exception_) std::rethrow_exception(exception_);
    }

    /// As store_and_commit, for a PENDING state that no other thread can see yet.
    template <class U>
    void store_unshared(U&& v) noexcept {
        construct_value(std::forward<U>(v));
        finish_unshared();
    }

private:
    /// Constructs the value; a constructor that throws leaves its exception instead.
    template <class U>
    void construct_value(U&& v) noexcept {
        try {
            ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<U>(v));
        } catch (...) {
            exception_ = std::current_exception();
        }
    }

    [[nodiscard]] bool has_value() const noexcept { return state() == FutureState::finished && !exception_; }

    union {
        T value_;
    };
};

template <>
class ResultState<void> : public StateBase {
public:
    void set_result() {
        if (!claim_finish()) throw_already_done();
        commit_finish();
    }
    void get(const Deadline& deadline) const { check_result(deadline); }

protected:
    void destroy() noexcept override { delete this; }
    const std::type_info& result_type() const noexcept override { return typeid(void); }
    void store_and_commit() noexcept { commit_finish(); }
    void store_unshared() noexcept { finish_unshared(); }
    void check_result(const Deadline& deadline) const {
        if (!wait(deadline)) throw TimeoutError();
        if (cancelled()) throw CancelledError();
        if (exception_) std::rethrow_exception(exception_);
    }
};

}  // namespace cf::detail
