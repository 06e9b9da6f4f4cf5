#include <cfutures/detail/completion_queue.hpp>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>

namespace cf::detail {

struct CompletionQueue::Impl {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::uint64_t> done;  // guarded by mutex
};

CompletionQueue::CompletionQueue() : impl_(std::make_unique<Impl>()) {}
CompletionQueue::~CompletionQueue() = default;

void CompletionQueue::push(std::uint64_t seq) noexcept {
    {
        std::lock_guard g(impl_->mutex);
        try {
            impl_->done.push_back(seq);
        } catch (...) {
            std::terminate();  // out of memory in a done callback: nothing sane is left to do
        }
    }
    impl_->cv.notify_one();
}

std::optional<std::uint64_t> CompletionQueue::pop(const Deadline& deadline) {
    std::unique_lock lk(impl_->mutex);
    const auto ready = [this] { return !impl_->done.empty(); };
    if (deadline) {
        if (!impl_->cv.wait_until(lk, *deadline, ready)) return std::nullopt;
    } else {
        impl_->cv.wait(lk, ready);
    }
    const std::uint64_t seq = impl_->done.front();
    impl_->done.pop_front();
    return seq;
}

}  // namespace cf::detail
