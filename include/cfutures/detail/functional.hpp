// std::function and INVOKE, without the rest of <functional>.
//
// libstdc++'s <functional> also brings C++17's searchers, and with them
// <unordered_map>, <vector>, <array> and <bits/stl_algo.h>: 0.07 s of the
// 0.55 s a program including <cfutures/thread_pool.hpp> took to parse. It
// keeps std::function in <bits/std_function.h>, the header its own <future>
// uses (measured with bench/header_cost/run.sh). Other standard libraries
// get <functional>.
#pragma once

#include <tuple>
#include <utility>
#include <version>  // defines __GLIBCXX__ under libstdc++

#if defined(__GLIBCXX__) && __has_include(<bits/std_function.h>)
#include <bits/std_function.h>
#else
#include <functional>
#endif

namespace cf::detail {

/// std::invoke, which only <functional> declares; std::apply is specified as INVOKE too.
template <class F, class... Args>
constexpr decltype(auto) invoke(F&& f, Args&&... args) {
    return std::apply(std::forward<F>(f), std::forward_as_tuple(std::forward<Args>(args)...));
}

}  // namespace cf::detail
