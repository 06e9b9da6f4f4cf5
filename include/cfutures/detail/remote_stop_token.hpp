// A call that takes a std::stop_token, on an executor that stops a running call by
// asking it (the MPI executors, API.md "Beyond Python: stopping calls"): it travels as
// WithStopToken<F>, which a worker calls with the token of the call it runs
// (current_call_stop_token()), asked to stop when the root says the call was stopped.
#pragma once

#include <stop_token>
#include <type_traits>
#include <utility>

#include <cfutures/detail/code_ref.hpp>
#include <cfutures/detail/functional.hpp>

namespace cf::detail {

/// In a worker: the stop token of the call it runs now (one that is never asked to stop
/// outside a call). Defined in src/worker_runtime/call_tokens.cpp.
std::stop_token current_call_stop_token();

/// `fn`, called with the current call's token before its arguments. Serializable as `fn`
/// is: a function pointer as a code reference, a class by its own serialize().
template <class F>
struct WithStopToken {
    F fn{};

    template <class... A>
    auto operator()(A&&... args) -> std::invoke_result_t<F&, std::stop_token, A&&...> {
        return detail::invoke(fn, current_call_stop_token(), std::forward<A>(args)...);
    }

    template <class Archive>
    void save(Archive& a) const {
        if constexpr (std::is_pointer_v<F>) {
            a(code_ref_of(fn));
        } else if constexpr (!std::is_empty_v<F>) {
            a(fn);
        }
    }
    template <class Archive>
    void load(Archive& a) {
        if constexpr (std::is_pointer_v<F>) {
            CodeRef ref;
            a(ref);
            fn = code_from_ref<std::remove_pointer_t<F>>(ref);
        } else if constexpr (!std::is_empty_v<F>) {
            a(fn);
        }
    }
};

template <class F>
inline constexpr bool is_with_stop_token_v = false;
template <class F>
inline constexpr bool is_with_stop_token_v<WithStopToken<F>> = true;

}  // namespace cf::detail
