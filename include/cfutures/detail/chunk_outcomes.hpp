// The outcomes of one map() chunk that ran in another process: a value or an
// exception per position, in input order.
//
// Stored as a plain vector of values plus a sparse list of failures, not as a
// vector of variant<value, exception_ptr>: calls rarely throw, and a map over
// ten million ints eagerly submitted holds every outcome at once, so the
// variant's 16 bytes per int (against 4) were most of the parent's memory
// traffic. Arithmetic values arrive as one block of raw bytes (assign_raw).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cf::detail {

/// The value type map() yields for a call returning R (void calls yield std::monostate).
template <class R>
using map_value_t = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

template <class R>
class ChunkOutcomes {
public:
    using value_type = map_value_t<R>;

    void reserve(std::size_t n) { values_.reserve(n); }
    [[nodiscard]] std::size_t size() const noexcept { return values_.size(); }

    void push_value(value_type v) { values_.emplace_back(std::move(v)); }
    void push_exception(std::exception_ptr e) {
        failures_.emplace_back(values_.size(), std::move(e));
        values_.emplace_back();  // a placeholder: take() throws before it looks
    }

    /// n values of an arithmetic type, from their bytes as one block.
    void assign_raw(const char* bytes, std::size_t n)
        requires std::is_arithmetic_v<value_type>
    {
        values_.resize(n);
        if (n > 0) std::memcpy(values_.data(), bytes, n * sizeof(value_type));  // data() may be null when empty
    }

    /// The outcome at `i`: its exception is thrown, or its value moved out.
    value_type take(std::size_t i) {
        if (!failures_.empty()) {
            const auto it = std::lower_bound(failures_.begin(), failures_.end(), i,
                                             [](const auto& f, std::size_t at) { return f.first < at; });
            if (it != failures_.end() && it->first == i) std::rethrow_exception(it->second);
        }
        if constexpr (std::is_default_constructible_v<value_type>) {
            return static_cast<value_type>(std::move(values_[i]));
        } else {
            return std::move(*values_[i]);
        }
    }

private:
    // A type without a default constructor needs an empty slot for a failed position; and
    // bools are kept as bytes, as std::vector<bool> packs bits and has no data().
    using Slot = std::conditional_t<std::is_same_v<value_type, bool>, unsigned char,
                                    std::conditional_t<std::is_default_constructible_v<value_type>, value_type,
                                                       std::optional<value_type>>>;
    std::vector<Slot> values_;
    std::vector<std::pair<std::size_t, std::exception_ptr>> failures_;  // by position, ascending
};

}  // namespace cf::detail
