// An MPI worker: the serving loop, and how a process becomes a worker before
// main — a spawned copy of the program, or a non-root rank under the
// CFUTURES_MPI_POOL switch.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <cstdlib>
#include <cstring>
#include <string>

#include <cfutures/detail/remote_call.hpp>

#include "backoff.hpp"
#include "mpi_init.hpp"
#include "process_watch.hpp"
#include "protocol.hpp"
#include "serving.hpp"
#include "worker_runtime/reply_courier.hpp"
#include "worker_runtime/call_tokens.hpp"
#include "worker_runtime/run_call.hpp"

namespace cf::mpi::detail {

using cf::detail::ReplyCourier;

namespace {

constexpr const char* kWorkerFlag = "--cfutures-mpi-worker";

void send_bytes(MPI_Comm comm, int root, int tag, std::uint64_t id, const std::string& body) {
    std::string msg(sizeof id, '\0');
    std::memcpy(msg.data(), &id, sizeof id);
    msg += body;
    MPI_Send(msg.data(), static_cast<int>(msg.size()), MPI_BYTE, root, tag, comm);
}

/// Runs the initializer's call; a failure is reported (the root breaks the executor).
void run_initializer(MPI_Comm comm, int root, std::string_view call) {
    std::string reply;
    try {
        cf::detail::run_encoded_call(call, reply);
    } catch (const std::exception& e) {
        send_bytes(comm, root, kTagFatal, 0, std::string("could not decode the initializer: ") + e.what());
        return;
    }
    if (!reply.empty() && reply[0] == static_cast<char>(cf::detail::ReplyStatus::raised)) {
        cf::detail::Decoder d(reply.data() + 1, reply.size() - 1);
        cf::detail::RaisedInfo info;
        try {
            d(info);
        } catch (...) {
        }
        send_bytes(comm, root, kTagFatal, 0, "the initializer raised " + info.type_name + ": " + info.what);
    }
}

/// Runs a batch of calls. Their replies leave together through `courier`, which sends
/// none later than 50 us after it was ready, however slow the calls after it.
void serve_batch(MPI_Comm comm, int root, std::string_view batch, ReplyCourier& courier, std::string& reply) {
    std::size_t pos = 0;
    std::uint64_t id = 0;
    std::string_view call;
    while (next_item(batch, pos, id, call)) {
        reply.clear();
        courier.before_call();
        cf::detail::call_tokens::begin(id);
        try {
            cf::detail::run_encoded_call(call, reply);
            cf::detail::call_tokens::end();
        } catch (const std::exception& e) {
            cf::detail::call_tokens::end();
            // Unlike a process pool, a worker cannot just die here (it would take the job
            // down): it reports, and the root breaks the executor.
            courier.flush();
            send_bytes(comm, root, kTagFatal, id, std::string("could not decode a call: ") + e.what());
            continue;
        }
        courier.append([&](const std::string& pending) { return fits_in_batch(pending, reply.size()); },
                       [&](std::string& pending) { append_item(pending, id, reply); });
        courier.after_call();
    }
    courier.flush();
    if (pos != batch.size()) send_bytes(comm, root, kTagFatal, 0, "could not decode a batch of calls: it was cut");
}

/// Takes a kTagStop message matched by `message`: the call it names is asked to stop.
void take_stop(MPI_Message& message, const MPI_Status& st) {
    std::uint64_t id = 0;
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    std::string buf(static_cast<std::size_t>(count), '\0');
    MPI_Mrecv(buf.data(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE);
    if (buf.size() == sizeof id) {
        std::memcpy(&id, buf.data(), sizeof id);
        cf::detail::call_tokens::stop(id);
    }
}

/// While calls that take a stop token run, a thread listens for the root's stops (the
/// serving thread is inside the call). Started at the first call that asks for its token;
/// it needs MPI_THREAD_MULTIPLE (without it, stops are read between calls only).
struct StopListener {
    MPI_Comm comm = MPI_COMM_NULL;
    int root = 0;
    bool multiple = false;
    std::atomic<bool> done{false};
    std::thread thread;

    void run() {
        while (!done.load(std::memory_order_acquire)) {
            int ready = 0;
            MPI_Message message = MPI_MESSAGE_NULL;
            MPI_Status st;
            MPI_Improbe(root, kTagStop, comm, &ready, &message, &st);
            if (ready) take_stop(message, st);
            else std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
};

StopListener& stop_listener() {
    static StopListener listener;
    return listener;
}

void start_stop_listener() {
    StopListener& l = stop_listener();
    if (l.multiple && !l.thread.joinable()) l.thread = std::thread([&l] { l.run(); });
}

}  // namespace

bool world_pool_active() noexcept {
    const char* v = std::getenv("CFUTURES_MPI_POOL");
    return v && *v && std::string(v) != "0";
}

void serve(MPI_Comm comm, int root) {
    // Who this worker is, so that a root on the same host can notice its death (docs/mpi.md).
    const ProcessId self = this_process();
    send_bytes(comm, root, kTagHello, self.pid, encode_process_body(self));
    std::string buf;
    std::string reply;
    // The courier's thread sends while this one runs a call: MPI_THREAD_MULTIPLE, which
    // the library asks for, and an SPMD program must give (mpi.hpp); without it, replies
    // go out only between calls.
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    ReplyCourier courier(
        [comm, root](std::string_view replies) {
            MPI_Send(replies.data(), static_cast<int>(replies.size()), MPI_BYTE, root, kTagReply, comm);
        },
        cf::detail::kReplyHold, /*may_start_thread=*/level == MPI_THREAD_MULTIPLE);
    StopListener& listener = stop_listener();
    listener.comm = comm;
    listener.root = root;
    listener.multiple = level == MPI_THREAD_MULTIPLE;
    listener.done.store(false, std::memory_order_release);
    cf::detail::call_tokens::on_first_token(&start_stop_listener);
    Backoff backoff;
    for (;;) {
        // Matched probes: the stop listener takes kTagStop messages from another thread.
        int ready = 0;
        MPI_Message message = MPI_MESSAGE_NULL;
        MPI_Status st;
        MPI_Improbe(root, MPI_ANY_TAG, comm, &ready, &message, &st);
        if (!ready) {
            backoff.pause();
            continue;
        }
        backoff.reset();
        if (st.MPI_TAG == kTagStop) {
            take_stop(message, st);
            continue;
        }
        int count = 0;
        MPI_Get_count(&st, MPI_BYTE, &count);
        buf.resize(static_cast<std::size_t>(count));
        MPI_Mrecv(buf.data(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE);
        if (st.MPI_TAG == kTagExit || st.MPI_TAG == kTagSync) {
            // Everything this worker sent before is ahead of the goodbye: once the root has
            // it, nothing of the executor that ends is left in flight.
            if (st.MPI_TAG == kTagExit && listener.thread.joinable()) {
                listener.done.store(true, std::memory_order_release);
                listener.thread.join();
            }
            MPI_Send(nullptr, 0, MPI_BYTE, root, kTagBye, comm);
            if (st.MPI_TAG == kTagExit) return;
            continue;
        }
        if (st.MPI_TAG == kTagInit) {
            run_initializer(comm, root, buf);
            continue;
        }
        serve_batch(comm, root, buf, courier, reply);
    }
}

namespace {

/// Runs before main (glibc passes argc/argv to constructors). Spawned copies of
/// the program carry kWorkerFlag; under CFUTURES_MPI_POOL every rank but 0 serves.
__attribute__((constructor)) void become_mpi_worker_if_asked(int argc, char** argv, char**) {
    bool spawned = false;
    for (int i = 1; i < argc; ++i) spawned = spawned || std::strcmp(argv[i], kWorkerFlag) == 0;
    if (spawned) {
        ensure_initialized();
        MPI_Comm parent = MPI_COMM_NULL;
        MPI_Comm_get_parent(&parent);
        if (parent == MPI_COMM_NULL) return;  // started by hand with the flag: run main as usual
        serve(parent, 0);
        MPI_Comm_disconnect(&parent);
        std::exit(0);  // finalises MPI (atexit) without running main
    }
    if (world_pool_active()) {
        ensure_initialized();
        int rank = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        if (rank != 0) {
            serve(MPI_COMM_WORLD, 0);
            std::exit(0);
        }
        // Registered after MPI's own finaliser, so it runs before it.
        std::atexit(release_world_workers);
    }
}

}  // namespace
}  // namespace cf::mpi::detail
