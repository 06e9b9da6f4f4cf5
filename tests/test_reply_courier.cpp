// The reply courier on its own (src/worker_runtime/reply_courier.hpp): which of its
// two wake-ups sends the replies a worker holds while a call runs. The process
// pool's manager pokes a watched worker; a worker nobody watches (the pool stopped
// watching it, or an MPI worker) sets its own timer. test_reply_latency.cpp checks
// the same through a pool. Not in CPython.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "../src/worker_runtime/reply_courier.hpp"

namespace {

using cf::detail::ReplyCourier;
using namespace std::chrono_literals;

/// A socketpair standing for a worker's socket: the courier writes to one end, the
/// test reads the other.
class ReplyCourierTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_), 0); }
    void TearDown() override {
        ::close(sv_[0]);
        ::close(sv_[1]);
    }

    ReplyCourier::Send send_to_parent() {
        return [fd = sv_[0]](std::string_view bytes) {
            while (!bytes.empty()) {
                const ssize_t n = ::write(fd, bytes.data(), bytes.size());
                if (n <= 0) return;
                bytes.remove_prefix(static_cast<std::size_t>(n));
            }
        };
    }

    /// What the parent end received within `wait` ("" if nothing came).
    std::string received_within(std::chrono::milliseconds wait) {
        pollfd p{sv_[1], POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return {};
        char buf[256];
        const ssize_t n = ::read(sv_[1], buf, sizeof buf);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }

    /// A finished reply, then the worker begins a call (which the test stands for by waiting).
    static void reply_then_begin_a_call(ReplyCourier& courier, const std::string& reply) {
        courier.append([](const std::string&) { return true; }, [&](std::string& out) { out += reply; });
        courier.before_call();
    }

    int sv_[2] = {-1, -1};
};

TEST_F(ReplyCourierTest, a_watched_worker_holds_its_replies_until_the_pool_pokes_it) {
    std::atomic<std::uint64_t> watched{1};
    const int poke = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ASSERT_GE(poke, 0);
    ReplyCourier courier(send_to_parent(), cf::detail::kReplyHold, /*may_start_thread=*/true);
    courier.watched_by_parent(&watched, ::dup(poke));
    reply_then_begin_a_call(courier, "first");
    // No timer of its own: the pool watches. (Far longer than the hold.)
    EXPECT_EQ(received_within(300ms), "") << "a watched worker set its own timer";
    const std::uint64_t one = 1;
    ASSERT_EQ(::write(poke, &one, sizeof one), static_cast<ssize_t>(sizeof one));
    EXPECT_EQ(received_within(5000ms), "first") << "the poke did not send the reply held behind the call";
    ::close(poke);
}

TEST_F(ReplyCourierTest, a_worker_the_pool_stopped_watching_sends_on_its_own_timer) {
    std::atomic<std::uint64_t> watched{0};
    const int poke = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ASSERT_GE(poke, 0);
    ReplyCourier courier(send_to_parent(), cf::detail::kReplyHold, /*may_start_thread=*/true);
    courier.watched_by_parent(&watched, poke);
    reply_then_begin_a_call(courier, "second");
    EXPECT_EQ(received_within(5000ms), "second") << "nothing sent the reply held behind the call";
}

TEST_F(ReplyCourierTest, a_worker_nobody_watches_sends_on_its_own_timer) {
    // As an MPI worker: no pool watches it.
    ReplyCourier courier(send_to_parent(), cf::detail::kReplyHold, /*may_start_thread=*/true);
    reply_then_begin_a_call(courier, "third");
    EXPECT_EQ(received_within(5000ms), "third") << "nothing sent the reply held behind the call";
}

TEST_F(ReplyCourierTest, a_worker_without_a_courier_thread_sends_before_each_call) {
    // A worker forked under a sanitizer: no thread may be started there.
    ReplyCourier courier(send_to_parent(), cf::detail::kReplyHold, /*may_start_thread=*/false);
    reply_then_begin_a_call(courier, "fourth");
    EXPECT_EQ(received_within(0ms), "fourth") << "the reply did not leave before the next call";
}

TEST_F(ReplyCourierTest, replies_of_quick_calls_leave_together_at_the_batch_end) {
    ReplyCourier courier(send_to_parent(), std::chrono::seconds(10), /*may_start_thread=*/true);
    for (const char* reply : {"a", "b", "c"}) {
        courier.append([](const std::string&) { return true; }, [&](std::string& out) { out += reply; });
        courier.after_call();
    }
    EXPECT_EQ(received_within(100ms), "") << "a reply of a quick call left before its batch ended";
    courier.rest();
    EXPECT_EQ(received_within(5000ms), "abc");
}

}  // namespace
