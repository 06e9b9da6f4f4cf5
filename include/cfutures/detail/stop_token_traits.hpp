// Whether a callable wants a std::stop_token (API.md, "Beyond Python: stopping calls").
#pragma once

#include <concepts>
#include <stop_token>
#include <type_traits>

namespace cf::detail {

/// Whether `Fn` is called with a std::stop_token before `Args` (its first parameter is
/// one): true when it can be called so and cannot be called without.
template <class Fn, class... Args>
inline constexpr bool takes_stop_token_v =
    std::invocable<std::decay_t<Fn>, std::stop_token, std::decay_t<Args>...> &&
    !std::invocable<std::decay_t<Fn>, std::decay_t<Args>...>;

}  // namespace cf::detail
