// Splitting map(fn, ranges..., options) into its ranges and its options.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include <cfutures/executor.hpp>

namespace cf::detail {

template <class... Args>
inline constexpr bool last_is_map_options =
    sizeof...(Args) > 0 &&
    std::is_same_v<std::remove_cvref_t<std::tuple_element_t<sizeof...(Args) - 1, std::tuple<Args..., void>>>, MapOptions>;

/// Calls `f(options, ranges...)` where options is the trailing MapOptions argument if any.
template <class F, class... Args>
decltype(auto) split_map_args(F&& f, Args&&... args) {
    if constexpr (last_is_map_options<Args...>) {
        auto all = std::forward_as_tuple(std::forward<Args>(args)...);
        constexpr std::size_t n = sizeof...(Args) - 1;
        const MapOptions& options = std::get<n>(all);
        return [&]<std::size_t... I>(std::index_sequence<I...>) -> decltype(auto) {
            return std::forward<F>(f)(options, std::get<I>(std::move(all))...);
        }(std::make_index_sequence<n>{});
    } else {
        return std::forward<F>(f)(MapOptions{}, std::forward<Args>(args)...);
    }
}

}  // namespace cf::detail
