// The process pool's worker: its main loop, which reads frames from the pool's
// socket and calls from its express lane, runs them and sends the replies.
//
// What runs a call is shared with the MPI workers (src/worker_runtime/), the
// socket I/O is in wire_io.cpp, and how a re-started program gets here before
// main is in takeover.cpp.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <csignal>
#include <exception>
#include <string>
#include <vector>

#include <cfutures/detail/remote_call.hpp>

#include "../worker_runtime/reply_courier.hpp"
#include "../worker_runtime/run_call.hpp"
#include "crash_report.hpp"
#include "express_lane.hpp"
#include "launcher.hpp"
#include "stop_board.hpp"
#include "takeover.hpp"
#include "wire.hpp"
#include "wire_io.hpp"

namespace cf::detail {

namespace {

/// Whether this build's allocator survives a fork taken while another thread held its
/// lock: GCC 12's ASan and TSan allocators have no fork handlers, so a worker forked
/// from a threaded program may block for good as soon as it starts a thread.
constexpr bool kForkSafeAllocator =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    false;
#else
    true;
#endif

/// A worker's way out: a fatal frame after the replies already made, then _exit.
[[noreturn]] void die_with(ReplyCourier& courier, const std::string& why, int code) noexcept {
    std::string frame;
    wire::append_frame(frame, wire::Kind::fatal, 0, why);
    courier.flush(frame);
    ::_exit(code);
}

/// A reply's size is 32 bits on the wire: a bigger one ends the worker with a message that
/// says so (its call cannot be answered, and a cut reply would be corrupt).
void refuse_oversized(ReplyCourier& courier, const std::string& reply) noexcept {
    if (reply.size() > wire::kMaxPayload)
        die_with(courier, "a result encoded to " + std::to_string(reply.size()) + " bytes, more than a reply can carry (4 GiB)",
                 6);
}

/// The worker's resident memory in bytes, from /proc/self/statm (one pread on an fd kept
/// open: cheap enough to read after every call); 0 when it cannot be read.
std::size_t resident_bytes() noexcept {
    static const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    static const long page = ::sysconf(_SC_PAGESIZE);
    char buf[128];
    const ssize_t n = fd < 0 ? -1 : ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    buf[n] = '\0';
    unsigned long size = 0;
    unsigned long resident = 0;
    if (std::sscanf(buf, "%lu %lu", &size, &resident) != 2) return 0;
    return static_cast<std::size_t>(resident) * static_cast<std::size_t>(page);
}

}  // namespace

void run_worker(int fd, int max_tasks, bool forked_from_the_program) noexcept {
    mark_worker_process();
    std::signal(SIGPIPE, SIG_IGN);
    install_crash_reporter(fd);
    wire::FrameReader reader;
    std::vector<int> passed_fds;
    express::WorkerLane lane;
    WorkerStopBoard board;
    std::size_t memory_limit = 0;  // max_memory_per_child, from the pool's limits frame
    std::string reply;
    long done = 0;
    // Replies of calls received together leave together (at most 64 KiB at once), and
    // none waits more than 50 us behind a slow call that follows it.
    ReplyCourier courier(
        [fd](std::string_view bytes) {
            if (!wire::write_all(fd, bytes.data(), bytes.size())) ::_exit(0);  // the parent is gone
        },
        kReplyHold, kForkSafeAllocator || !forked_from_the_program);
    const auto fits = [](const std::string& pending) { return pending.size() <= 64 * 1024; };
    // What a call whose bytes cannot be decoded (or an initializer that raises) ends with.
    auto fail_call = [&](wire::Kind kind) {
        const char* what = kind == wire::Kind::init ? "could not decode the initializer: " : "could not decode a call: ";
        die_with(courier, what + describe_exception(std::current_exception()), 3);
    };
    for (;;) {
        // Socket first (the initializer comes that way, before any lane call), then the lane.
        long n = wire::read_some(fd, reader.buffer(), passed_fds, /*wait=*/!lane.attached());
        if (n == 0) {
            if (lane.has_call()) {
                reply.clear();
                try {
                    run_encoded_call(lane.take_call(), reply);
                } catch (...) {
                    fail_call(wire::Kind::call);
                }
                refuse_oversized(courier, reply);
                ++done;
                const std::string frame = lane.reply(reply);
                courier.flush(frame);
                continue;
            }
            if (!lane.wait(fd)) ::_exit(0);  // the parent is gone
            continue;
        }
        if (n < 0) ::_exit(0);  // the parent is gone
        wire::Header h{};
        std::string_view payload;
        while (reader.next(h, payload)) {
            if (h.kind == wire::Kind::exit) {
                courier.flush();
                ::_exit(0);
            }
            if (h.kind == wire::Kind::limits) {
                std::uint64_t bytes = 0;
                if (payload.size() == sizeof bytes) std::memcpy(&bytes, payload.data(), sizeof bytes);
                memory_limit = static_cast<std::size_t>(bytes);
                continue;
            }
            if (h.kind == wire::Kind::board) {
                // Without its board the worker could not be stopped call by call: it says so
                // and exits, the pool breaks (as for a lane that came without its fds).
                if (passed_fds.size() < 2) die_with(courier, "its stop board came without its two fds", 5);
                const int memfd = passed_fds[0];
                const int poke_fd = passed_fds[1];
                passed_fds.erase(passed_fds.begin(), passed_fds.begin() + 2);
                if (!board.attach(memfd)) die_with(courier, "could not map its stop board", 5);
                courier.watched_by_parent(board.watched(), poke_fd);
                continue;
            }
            if (h.kind == wire::Kind::lane) {
                // The pool offers this lane to submitters: a worker that cannot serve it must
                // not stay silent (its calls would wait forever); it exits, the pool breaks.
                if (passed_fds.size() != 2) {
                    for (int passed : passed_fds) ::close(passed);
                    die_with(courier, "its express lane came without its two fds", 5);
                }
                if (!lane.attach(passed_fds[0], passed_fds[1])) die_with(courier, "could not map its express lane", 5);
                passed_fds.clear();
                continue;
            }
            if (h.kind == wire::Kind::call && !board.begin(h.id)) {
                courier.append(fits, [&](std::string& out) { wire::append_frame(out, wire::Kind::skipped, h.id, {}); });
                continue;
            }
            reply.clear();
            courier.before_call();
            try {
                run_encoded_call(payload, reply);
            } catch (...) {
                fail_call(h.kind);
            }
            if (h.kind == wire::Kind::init) {
                if (!reply.empty() && reply[0] == static_cast<char>(ReplyStatus::raised)) {
                    Decoder d(reply.data() + 1, reply.size() - 1);
                    RaisedInfo info;
                    try {
                        d(info);
                    } catch (...) {
                    }
                    die_with(courier, "the initializer raised " + info.type_name + ": " + info.what, 4);
                }
                continue;
            }
            refuse_oversized(courier, reply);
            courier.append(fits, [&](std::string& out) { wire::append_frame(out, wire::Kind::reply, h.id, reply); });
            ++done;
            if (memory_limit > 0 && resident_bytes() > memory_limit) {
                // max_memory_per_child: the reply is kept; the pool sends the calls this worker
                // has not begun to another one once it has exited.
                courier.append(fits, [](std::string& out) { wire::append_frame(out, wire::Kind::retiring, 0, {}); });
                courier.flush();
                ::_exit(0);
            }
            if (max_tasks > 0 && done >= max_tasks) {
                courier.flush();
                ::_exit(0);  // max_tasks_per_child: the manager starts a replacement
            }
            courier.after_call();
        }
        courier.rest();
    }
}

}  // namespace cf::detail
