// cf::RemoteInitializer: what a worker process runs first, for every executor
// whose workers are processes (ProcessPoolOptions::initializer and the MPI
// executors'). Its own header so that <cfutures/mpi.hpp> need not bring in the
// process pool; <cfutures/process_pool.hpp> includes it.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include <cfutures/detail/remote_call.hpp>

namespace cf {

/// A callable taking no arguments that can run in a worker process: a function
/// pointer, a lambda without captures, or a serializable callable object.
class RemoteInitializer {
public:
    /// No initializer.
    RemoteInitializer() = default;
    /// No initializer (`.initializer = nullptr`).
    RemoteInitializer(std::nullptr_t) {}  // NOLINT: no initializer
    /// `fn`, encoded now: what each worker runs first.
    template <class F>
        requires(!std::is_same_v<std::decay_t<F>, RemoteInitializer> && !std::is_null_pointer_v<std::decay_t<F>> &&
                 std::is_invocable_v<std::decay_t<F>>)
    RemoteInitializer(F&& fn)  // NOLINT: implicit, so that `.initializer = &init` reads naturally
        : call_(detail::encode_call(std::decay_t<F>(std::forward<F>(fn)))) {}

    /// True when there is an initializer.
    explicit operator bool() const noexcept { return !call_.empty(); }
    /// The encoded call.
    [[nodiscard]] const std::string& bytes() const noexcept { return call_; }

private:
    std::string call_;
};

}  // namespace cf
