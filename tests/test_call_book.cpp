// The remote managers' book of calls (include/cfutures/detail/call_book.hpp) on its
// own: what shutdown(cancel_futures=true) does to the calls still queued, when some
// of them were sent to a worker that was stopped before it began them and so wait,
// RUNNING, to be sent again (API.md, "stopping calls"). Not in CPython, whose pool
// never hands a running call back.
#include <cstdint>
#include <deque>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>
#include <cfutures/detail/call_book.hpp>
#include <cfutures/detail/remote_executor.hpp>

namespace {

using cf::detail::CallBook;
using cf::detail::PendingCall;

/// A call as a remote executor's submit makes it: a future, and the book's reference.
struct BookedCall {
    cf::Future<int> future;
    PendingCall call;
};

BookedCall make_call() {
    auto* state = new cf::detail::RemoteState<int>(cf::detail::RemoteStop::by_kill, /*takes_token=*/false);
    state->init_refs(2);
    BookedCall booked{cf::detail::FutureAccess::adopt_state<cf::Future<int>>(state), PendingCall{}};
    booked.call.state = state;
    booked.call.bytes = "call";
    return booked;
}

TEST(CallBookTest, cancelling_queued_calls_keeps_a_running_call_handed_back_by_a_stopped_worker) {
    CallBook book;
    BookedCall handed_back = make_call();
    BookedCall never_sent = make_call();
    std::deque<PendingCall> fresh;
    fresh.push_back(std::move(handed_back.call));
    fresh.push_back(std::move(never_sent.call));
    book.enqueue(fresh);

    int worker = 0;
    std::vector<std::uint64_t> sent;
    book.dispatch([&]() -> int* { return sent.empty() ? &worker : nullptr; },
                  [&](int&, std::uint64_t id, const PendingCall&) { sent.push_back(id); });
    ASSERT_EQ(sent.size(), 1u);
    ASSERT_TRUE(handed_back.future.running());
    // Its worker was killed to stop a call ahead of it, before it began this one.
    book.requeue_front(sent);

    book.cancel_queued();  // shutdown(cancel_futures=true)
    EXPECT_TRUE(never_sent.future.cancelled());
    EXPECT_TRUE(handed_back.future.running()) << "a running call cannot be cancelled";
    EXPECT_FALSE(handed_back.future.done());
    ASSERT_TRUE(book.has_queued()) << "the running call was dropped: its future would never end";

    std::vector<std::uint64_t> sent_again;
    book.dispatch([&]() -> int* { return &worker; },
                  [&](int&, std::uint64_t id, const PendingCall&) { sent_again.push_back(id); });
    EXPECT_EQ(sent_again, sent);
    book.fail_all(std::make_exception_ptr(std::runtime_error("the test ends the call")));
    EXPECT_TRUE(handed_back.future.done());
}

}  // namespace
