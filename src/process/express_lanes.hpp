// The process pool's express lanes, behind one door: the pool's manager and its
// submitters speak to the lanes through this set only (express_lane.hpp says what
// one lane is and why it exists).
//
//   open(sock)           manager: makes a worker's lane, sends the worker its fds
//   add / remove         manager (or the submitter starting the pool), under the pool's lock
//   try_submit_locked    a submitter, under the pool's lock: the call starts in an idle lane
//   manager_waits        manager: whether it waits for a lane to be freed (then woken)
//   fail_all             manager: the pool broke, every lane call fails
// and, per worker, its lane's offer() / revoke() / take_reply() / busy().
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "express_lane.hpp"

namespace cf::detail::express {

class LaneSet {
public:
    /// Makes a worker's express lane and sends it the lane's fds over `sock`, as the
    /// worker's first frame. Null when none could be made, or the worker is gone (its
    /// pidfd says how): then the worker is served through the socket only.
    static std::shared_ptr<Lane> open(int sock, int manager_wake_fd, Lane::BreakPool break_pool) noexcept;

    /// Lists a worker's lane for submitters. The list is written under the pool's lock,
    /// and only by the manager thread (or before it starts), so the manager reads it
    /// without the lock.
    void add_locked(std::shared_ptr<Lane> lane) { lanes_.push_back(std::move(lane)); }
    void remove_locked(const std::shared_ptr<Lane>& lane);

    /// Starts a call in the first lane offered to submitters; true when one took it (the
    /// state then waits with the lane's help).
    bool try_submit_locked(StateBase* state, const std::string& bytes, ReplyDecoder decode);

    /// Whether the manager waits for a lane to be freed (calls wait for a worker, or it
    /// shuts down): then the thread that frees one wakes it. Set before the manager looks
    /// at the lanes' owners, so that a lane freed after that look sees it.
    void manager_waits(bool waits) noexcept;

    /// The pool broke: every lane's call fails with `error`, and the lanes are dead.
    void fail_all(const std::exception_ptr& error) noexcept;

private:
    std::vector<std::shared_ptr<Lane>> lanes_;
};

}  // namespace cf::detail::express
