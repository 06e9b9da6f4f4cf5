// What wait() and as_completed() accept: any range of Future<T> or AnyFuture.
#pragma once

#include <ranges>
#include <type_traits>
#include <algorithm>
#include <cstddef>
#include <utility>
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
/// Sorting pointers finds the duplicates without a hash node per future.
template <class H, class R>
std::vector<H> distinct_futures(R&& range) {
    std::vector<H> all;
    if constexpr (std::ranges::sized_range<R>) all.reserve(std::ranges::size(range));
    for (auto&& f : range) all.push_back(f);
    std::vector<std::pair<StateBase*, std::size_t>> order;
    order.reserve(all.size());
    for (std::size_t i = 0; i < all.size(); ++i) order.emplace_back(FutureAccess::state(all[i]), i);
    std::sort(order.begin(), order.end());
    std::vector<bool> duplicate(all.size(), false);
    for (std::size_t i = 1; i < order.size(); ++i) {
        if (order[i].first == order[i - 1].first) duplicate[order[i].second] = true;
    }
    std::vector<H> out;
    out.reserve(all.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (!duplicate[i]) out.push_back(std::move(all[i]));
    }
    return out;
}

}  // namespace cf::detail
