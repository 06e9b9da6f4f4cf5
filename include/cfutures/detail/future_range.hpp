// What wait() and as_completed() accept: any range of Future<T> or AnyFuture.
#pragma once

#include <ranges>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <cfutures/any_future.hpp>
#include <cfutures/future.hpp>

namespace cf::detail {

template <class H>
concept future_handle = is_future<H>::value || std::is_same_v<H, AnyFuture>;

template <class R>
concept future_range = std::ranges::input_range<R> && future_handle<std::remove_cvref_t<std::ranges::range_value_t<R>>>;

template <class R>
using handle_of_t = std::remove_cvref_t<std::ranges::range_value_t<R>>;

/// The distinct futures of a range, in first-seen order (duplicates collapse, as in Python's set(fs)).
template <class H, class R>
std::vector<H> distinct_futures(R&& range) {
    std::vector<H> out;
    if constexpr (std::ranges::sized_range<R>) out.reserve(std::ranges::size(range));
    std::unordered_map<StateBase*, bool> seen;
    for (auto&& f : range) {
        const H& h = f;
        if (seen.emplace(FutureAccess::state(h), true).second) out.push_back(h);
    }
    return out;
}

}  // namespace cf::detail
