// The order in which a map's calls finish, for map_unordered: each call's done
// callback pushes its sequence number, and the result range pops them. Its
// mutex and condition variable live in src/completion_queue.cpp, so the map
// headers that every executor includes do not parse <mutex> for it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include <cfutures/detail/futex.hpp>

namespace cf::detail {

class CompletionQueue {
public:
    CompletionQueue();
    ~CompletionQueue();
    CompletionQueue(const CompletionQueue&) = delete;
    CompletionQueue& operator=(const CompletionQueue&) = delete;

    /// Call `seq` is done (from whichever thread completed it).
    void push(std::uint64_t seq) noexcept;
    /// The next finished call, in completion order; nullopt once `deadline` has passed.
    [[nodiscard]] std::optional<std::uint64_t> pop(const Deadline& deadline);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cf::detail
