// The worker process: its main loop, and how a re-started program (Spawn,
// ForkServer) becomes a worker or a fork server before main runs.
#include <execinfo.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <cfutures/detail/remote_call.hpp>
#include <cfutures/detail/type_name.hpp>

#include "../symbolize.hpp"
#include "../worker_runtime/reply_courier.hpp"
#include "crash_report.hpp"
#include "express_lane.hpp"
#include "throw_stack.hpp"
#include "launcher.hpp"
#include "fd_passing.hpp"
#include "wire.hpp"

namespace cf {

namespace {
bool g_is_worker = false;  // set once this process has become a worker (or fork server)

/// Whether the launcher started this program as a worker or fork server: what the
/// program's static initializers, which run before the takeover, can go by.
bool started_as_worker() noexcept {
    const char* role = std::getenv("CFUTURES_ROLE");
    return role && (std::strncmp(role, "worker:", 7) == 0 || std::strncmp(role, "forkserver:", 11) == 0);
}
}  // namespace

bool is_worker_process() noexcept { return g_is_worker || started_as_worker(); }

namespace detail {

namespace {

/// The name of the function a call runs, looked up once per function: a worker that
/// throws from the same function again pays a hash lookup, not a symbol-table search.
std::string name_of_call(const CallName& call) {
    if (!call.code) return call.callable ? demangle(*call.callable) : std::string("an unknown callable");
    static std::mutex mutex;
    static std::unordered_map<const void*, std::string> names;
    std::lock_guard g(mutex);
    auto [it, fresh] = names.try_emplace(call.code);
    if (fresh) {
        it->second = function_name(call.code);
        if (it->second.empty()) it->second = "a function of type " + demangle(*call.callable);  // no symbol: stripped
    }
    return it->second;
}

}  // namespace

RaisedInfo describe_current_exception(const CallName& call) {
    const auto e = std::current_exception();
    RaisedInfo info{exception_type_name(e), exception_message(e), {}};
    info.traceback = "Traceback (worker process " + std::to_string(::getpid()) + ", in a call of " + name_of_call(call) +
                     " with arguments " + (call.arguments ? call.arguments() : std::string("(?)")) + "):\n" +
                     throw_stack_text() + info.type_name + ": " + info.what + "\n";
    return info;
}

void run_encoded_call(std::string_view call, std::string& reply) {
    Decoder d(call);
    CodeRef ref;
    d(ref);
    auto* invoke = code_from_ref<void(Decoder&, std::string&)>(ref);
    invoke(d, reply);
}

namespace wire {

bool write_all(int fd, const char* data, std::size_t size) noexcept {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

long read_some(int fd, std::string& out, std::vector<int>& fds, bool wait) {
    // Read into a fixed buffer and append: growing the string first would zero-fill it on every read.
    static thread_local char chunk[64 * 1024];
    // Room for the two fds of an express lane, the most the pool ever passes at once.
    const ssize_t n = receive_with_fds(fd, chunk, sizeof chunk, fds, /*max_fds=*/2, wait ? 0 : MSG_DONTWAIT);
    if (n < 0 && !wait && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n <= 0) return -1;
    out.append(chunk, static_cast<std::size_t>(n));
    return static_cast<long>(n);
}

}  // namespace wire

namespace {

std::string describe(const std::exception_ptr& e) { return exception_type_name(e) + ": " + exception_message(e); }

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

}  // namespace

void run_worker(int fd, int max_tasks, bool forked_from_the_program) noexcept {
    g_is_worker = true;
    std::signal(SIGPIPE, SIG_IGN);
    install_crash_reporter(fd);
    wire::FrameReader reader;
    std::vector<int> passed_fds;
    express::WorkerLane lane;
    std::string reply;
    long done = 0;
    // Replies of calls received together leave together (at most 64 KiB at once), and
    // none waits more than 50 us behind a slow call that follows it.
    ReplyCourier courier(
        [fd](std::string_view bytes) {
            if (!wire::write_all(fd, bytes.data(), bytes.size())) ::_exit(0);  // the parent is gone
        },
        std::chrono::microseconds(50), kForkSafeAllocator || !forked_from_the_program);
    const auto fits = [](const std::string& pending) { return pending.size() <= 64 * 1024; };
    // What a call whose bytes cannot be decoded (or an initializer that raises) ends with.
    auto fail_call = [&](wire::Kind kind) {
        const char* what = kind == wire::Kind::init ? "could not decode the initializer: " : "could not decode a call: ";
        die_with(courier, what + describe(std::current_exception()), 3);
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
            if (max_tasks > 0 && done >= max_tasks) {
                courier.flush();
                ::_exit(0);  // max_tasks_per_child: the manager starts a replacement
            }
            courier.after_call();
        }
        courier.flush();
    }
}

void run_fork_server(int control_fd) noexcept;

namespace {

/// Takes over a re-started program before main: CFUTURES_ROLE=worker:<fd>:<max_tasks>:<ppid>
/// or forkserver:<fd>:0:<ppid>. Runs after the program's own static initializers,
/// because the library is linked after the program's object files.
__attribute__((constructor)) void become_worker_if_asked() {
    const char* role = std::getenv("CFUTURES_ROLE");
    if (!role) return;
    char kind[16] = {};
    int fd = -1;
    int max_tasks = 0;
    long ppid = 0;
    if (std::sscanf(role, "%15[a-z]:%d:%d:%ld", kind, &fd, &max_tasks, &ppid) != 4) return;
    ::unsetenv("CFUTURES_ROLE");
    g_is_worker = true;
    // Die with the program: our parent is its launcher thread, which lives as long as it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != static_cast<pid_t>(ppid)) ::_exit(0);
    if (std::strcmp(kind, "forkserver") == 0) run_fork_server(fd);
    run_worker(fd, max_tasks, /*forked_from_the_program=*/false);
}

}  // namespace
}  // namespace detail
}  // namespace cf
