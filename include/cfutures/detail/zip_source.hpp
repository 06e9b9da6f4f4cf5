// Zipped iteration over map()'s input ranges, one tuple of arguments at a
// time, so that map() can consume its inputs lazily (buffersize).
#pragma once

#include <optional>
#include <ranges>
#include <tuple>
#include <utility>

namespace cf::detail {

template <class... Ranges>
class ZipSource {
public:
    explicit ZipSource(Ranges&&... ranges)
        : views_(std::views::all(std::forward<Ranges>(ranges))...),
          its_(std::apply([](auto&... v) { return std::tuple(std::ranges::begin(v)...); }, views_)) {}
    ZipSource(ZipSource&&) = delete;  // the iterators point into views_

    /// True when the shortest range has run out.
    [[nodiscard]] bool exhausted() {
        return std::apply(
            [&](auto&... it) {
                return std::apply([&](auto&... v) { return ((it == std::ranges::end(v)) || ...); }, views_);
            },
            its_);
    }

    /// Calls `f(elements...)` with the current elements, then advances every iterator.
    template <class F>
    decltype(auto) consume(F&& f) {
        struct Advance {
            ZipSource* self;
            ~Advance() {
                std::apply([](auto&... it) { (++it, ...); }, self->its_);
            }
        } advance{this};
        return std::apply([&](auto&... it) -> decltype(auto) { return std::forward<F>(f)(*it...); }, its_);
    }

private:
    std::tuple<std::views::all_t<Ranges>...> views_;
    std::tuple<std::ranges::iterator_t<std::views::all_t<Ranges>>...> its_;
};

}  // namespace cf::detail
