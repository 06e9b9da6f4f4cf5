#include "stop_board.hpp"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <new>
#include <thread>

#include "../posix_error.hpp"
#include "shared_memfd.hpp"

namespace cf::detail {

StopBoard::StopBoard() {
    const SharedMemfd mapped = map_shared_memfd("cfutures-stop-board", sizeof(StopBoardShared), "a stop board");
    memfd_ = mapped.memfd;
    shared_ = new (mapped.address) StopBoardShared();
    poke_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (poke_fd_ < 0) {
        const int error = errno;
        ::munmap(shared_, sizeof(StopBoardShared));
        ::close(memfd_);
        errno = error;
        throw_errno("cfutures: eventfd for a stop board");
    }
}

StopBoard::~StopBoard() {
    forget_memfd();
    ::close(poke_fd_);
    ::munmap(shared_, sizeof(StopBoardShared));
}

void StopBoard::forget_memfd() noexcept {
    if (memfd_ >= 0) ::close(memfd_);
    memfd_ = -1;
}

void StopBoard::poke() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(poke_fd_, &one, sizeof one);  // EAGAIN: poked already
}

bool StopBoard::skip(std::uint64_t id) noexcept {
    shared_->skip_ids[skips_ % kSkipSlots].store(id, std::memory_order_relaxed);
    shared_->skips.store(++skips_, std::memory_order_seq_cst);
    return shared_->begun.load(std::memory_order_seq_cst) < id;
}

bool StopBoard::halt(std::uint64_t id) noexcept {
    shared_->halt.store(id, std::memory_order_seq_cst);
    if (shared_->begun.load(std::memory_order_seq_cst) == id) return true;
    shared_->halt.store(0, std::memory_order_seq_cst);
    return false;
}

WorkerStopBoard::~WorkerStopBoard() {
    if (shared_) ::munmap(shared_, sizeof(StopBoardShared));
}

bool WorkerStopBoard::attach(int memfd) noexcept {
    void* p = ::mmap(nullptr, sizeof(StopBoardShared), PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    ::close(memfd);
    if (p == MAP_FAILED) return false;
    shared_ = static_cast<StopBoardShared*>(p);
    return true;
}

bool WorkerStopBoard::begin(std::uint64_t id) noexcept {
    if (!shared_) return true;
    shared_->begun.store(id, std::memory_order_seq_cst);
    // Killed for an earlier call that has just ended here: begin nothing more. The pool
    // lifts the hold when it finds that call ended; else SIGKILL comes.
    for (;;) {
        const std::uint64_t h = shared_->halt.load(std::memory_order_seq_cst);
        if (h == 0 || h >= id) break;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    const std::uint64_t n = shared_->skips.load(std::memory_order_seq_cst);
    if (n != seen_) {
        // The ring keeps the last kSkipSlots ids; older ones are lost (those calls run,
        // and their results are dropped: their futures have ended).
        for (std::uint64_t i = n > kSkipSlots && seen_ < n - kSkipSlots ? n - kSkipSlots : seen_; i < n; ++i) {
            const std::uint64_t skip = shared_->skip_ids[i % kSkipSlots].load(std::memory_order_relaxed);
            if (skip > max_skip_) max_skip_ = skip;
        }
        seen_ = n;
    }
    if (id > max_skip_) return true;
    for (std::size_t i = 0; i < kSkipSlots; ++i) {
        if (shared_->skip_ids[i].load(std::memory_order_relaxed) == id) return false;
    }
    return true;
}

}  // namespace cf::detail
