// ThreadPoolExecutor's machinery. Tasks go through a TaskQueue (a lock-free
// push, see task_queue.hpp); one mutex guards the pool's life cycle and the
// list of parked workers, and is never held while user code runs. Idle
// workers spin briefly, then park on their own futex word; submit wakes one
// sleeper only when there is one (no notify_all herds).
//
// Until every worker has been started, submit takes the mutex to follow
// Python's _adjust_thread_count (reuse an idle worker, else start one), which
// needs counts of queued tasks and idle workers. Once the pool is full those
// counts decide nothing any more, and neither side maintains them: a submit
// is then one compare-and-swap, plus a wake-up only when a worker is parked.
#include <cfutures/thread_pool.hpp>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <cfutures/detail/type_name.hpp>
#include <cfutures/errors.hpp>

#include "task_queue.hpp"

namespace cf {
namespace detail {

namespace {
// How long an idle worker spins before it parks: a call submitted meanwhile costs no syscall.
constexpr std::chrono::microseconds kIdleSpin{20};
std::atomic<int> g_executor_counter{0};

int default_max_workers() {
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    return static_cast<int>(std::min(32u, hw + 4));
}
}  // namespace

class ThreadPoolCore : public std::enable_shared_from_this<ThreadPoolCore> {
public:
    explicit ThreadPoolCore(ThreadPoolOptions options)
        : max_workers_(options.max_workers ? *options.max_workers : default_max_workers()),
          prefix_(options.thread_name_prefix.empty()
                      ? "ThreadPoolExecutor-" + std::to_string(g_executor_counter.fetch_add(1))
                      : std::move(options.thread_name_prefix)),
          initializer_(std::move(options.initializer)),
          max_spinners_(static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / 2))) {
        if (options.max_workers && *options.max_workers <= 0) {
            throw std::invalid_argument("max_workers must be greater than 0, got " +
                                        std::to_string(*options.max_workers));
        }
        slots_ = std::make_unique<std::atomic<Slot*>[]>(static_cast<std::size_t>(max_workers_));
    }

    ~ThreadPoolCore() {
        // Only reached once no worker holds the core, so the queue is ours alone.
        finish_queue(queue_.take_all(), nullptr);
    }

    void enqueue(StateBase* task) {
        if (full_.load(std::memory_order_acquire)) {
            if (!queue_.push(task)) reject(task);
            // Pairs with the parking worker's store to num_parked_ and its pop (both
            // sequentially consistent): either it sees this task, or this sees it parked.
            if (num_parked_.load(std::memory_order_seq_cst) > 0 && searching_besides(nullptr) == 0) wake_one();
            return;
        }
        std::unique_lock lk(mutex_);
        // Counted before the push: a worker may pop (and uncount) the task at once.
        const long queued = queued_.fetch_add(1, std::memory_order_seq_cst) + 1;
        if (!queue_.push(task)) {
            queued_.fetch_sub(1, std::memory_order_seq_cst);
            lk.unlock();
            reject(task);
        }
        // Python's _adjust_thread_count: reuse an idle worker, else start one if below max.
        // A worker submitting from a done-callback of its own task counts itself idle
        // already, but cannot take the call before the callback returns: not idle here.
        const int idle = idle_.load(std::memory_order_seq_cst) - (tls_current_pool == this && tls_idle_early ? 1 : 0);
        const bool start = idle < queued && static_cast<int>(threads_.size()) < max_workers_;
        if (start) start_worker_locked();
        if (static_cast<int>(threads_.size()) == max_workers_) full_.store(true, std::memory_order_release);
        // One targeted wake per parked worker, and none when a worker is spinning or busy.
        Slot* wake = unpark_one_locked();
        lk.unlock();
        // The futex call only names the address: safe even if the worker has run on by now.
        if (wake) futex_wake(wake->word, 1);
    }

    void shutdown(bool wait, bool cancel_futures) {
        StateBase* cancelled = nullptr;
        std::vector<Slot*> parked;
        {
            std::lock_guard g(mutex_);
            parked = close_locked();
            if (cancel_futures) cancelled = queue_.take_all();
        }
        wake(parked);
        finish_queue(cancelled, nullptr);
        if (!wait) return;

        const bool from_worker = tls_current_pool == this;
        std::vector<std::thread> to_join;
        {
            std::unique_lock lk(mutex_);
            // A worker calling shutdown(wait=true) from a task cannot wait for itself,
            // nor for other workers doing the same: it stays counted as waiting until it
            // exits, and it joins only the workers that have exited.
            if (from_worker && !tls_waiting_in_shutdown) {
                tls_waiting_in_shutdown = true;
                ++waiting_workers_;
                exited_cv_.notify_all();  // other workers waiting here no longer wait for this one
            }
            exited_cv_.wait(lk, [&] { return live_workers_ == (from_worker ? waiting_workers_ : 0); });
            for (std::size_t i = 0; i < threads_.size(); ++i) {
                if (threads_[i].joinable() && (!from_worker || exited_[i])) to_join.push_back(std::move(threads_[i]));
            }
        }
        for (auto& t : to_join) t.join();
    }

    /// Called by the executor's destructor after shutdown(true): a worker thread
    /// destroying its own executor cannot join itself, nor other workers still in a
    /// task that called shutdown(wait=true), so it lets them go (they hold the core).
    /// From any other thread, shutdown(true) has joined every worker already.
    void detach_self() {
        std::lock_guard g(mutex_);
        for (auto& t : threads_) {
            if (t.joinable()) t.detach();
        }
    }

    int max_workers() const noexcept { return max_workers_; }
    int thread_count() const noexcept {
        std::lock_guard g(mutex_);
        return static_cast<int>(threads_.size());
    }
    const std::string& prefix() const noexcept { return prefix_; }

    CallTimer& timer() {
        std::lock_guard g(mutex_);
        if (!timer_) timer_ = std::make_unique<CallTimer>();
        return *timer_;
    }

private:
    /// A worker's own cache line, read by submitters deciding whether to wake someone.
    struct alignas(64) Slot {
        /// The futex word it parks on: 0 while it must sleep, 1 once it was taken from parked_.
        std::atomic<std::uint32_t> word{0};
        /// Awake and not in a call: it will look at the queue before it parks, so a
        /// submit need not wake anyone. Set before a call's future completes, so that
        /// the submit that follows a result() finds it (sequentially consistent stores
        /// and loads, paired with the queue's: see took() and enqueue()).
        std::atomic<bool> searching{false};  // set once the initializer has run
    };

    static thread_local ThreadPoolCore* tls_current_pool;
    /// Set in a worker that called shutdown(wait=true) from a task (counted in waiting_workers_).
    static thread_local bool tls_waiting_in_shutdown;
    /// Set in a worker between its call's return and the end of run() (done-callbacks run then),
    /// while it already counts itself in idle_.
    static thread_local bool tls_idle_early;

    void start_worker_locked() {
        const std::size_t index = threads_.size();
        slot_storage_.push_back(std::make_unique<Slot>());
        slots_[index].store(slot_storage_.back().get(), std::memory_order_release);
        started_.store(static_cast<int>(index) + 1, std::memory_order_release);
        ++live_workers_;
        exited_.push_back(false);
        try {
            threads_.emplace_back([self = shared_from_this(), index] { self->worker_main(index); });
        } catch (...) {
            --live_workers_;
            exited_.pop_back();
            throw;
        }
    }

    void worker_main(std::size_t index) {
        tls_current_pool = this;
        const std::string name = prefix_ + "_" + std::to_string(index);
        pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());

        if (initializer_ && !run_initializer()) {
            worker_exit(index);
            return;
        }
        Slot& me = *slots_[index].load(std::memory_order_acquire);
        // Not before: a worker stuck in a slow initializer must not keep submits from
        // waking a parked one.
        me.searching.store(true, std::memory_order_seq_cst);
        // Runs once the call has returned, before its future completes: a submit right
        // after result() returns then reuses this thread (neither starting nor waking one).
        struct ReturnHook final : CallReturnedHook {
            ReturnHook(ThreadPoolCore& core, Slot& me) : core_(core), me_(me) {}
            void call_returned() noexcept override {
                fired = true;
                me_.searching.store(true, std::memory_order_seq_cst);
                if (!core_.full_.load(std::memory_order_relaxed)) {
                    core_.idle_.fetch_add(1, std::memory_order_seq_cst);
                    tls_idle_early = true;
                }
            }
            ThreadPoolCore& core_;
            Slot& me_;
            bool fired = false;
        } hook(*this, me);
        bool announced_idle = false;  // counted in idle_ (only while the pool is not full)
        for (;;) {
            StateBase* task = pop_or_park(me, announced_idle);
            if (!task) break;
            if (announced_idle) {
                idle_.fetch_sub(1, std::memory_order_seq_cst);
                announced_idle = false;
            }
            hook.fired = false;
            tls_call_returned_hook = &hook;
            task->run();
            tls_call_returned_hook = nullptr;  // run() took it, unless the task was cancelled
            if (!hook.fired) me.searching.store(true, std::memory_order_seq_cst);
            // The thread just woken from result() is often queued on this very CPU (Linux
            // wakes onto the waker's CPU): spinning for work now would hold it off for the
            // whole spin (measured: a 1 ms-idle round trip took 33 µs instead of 8). Not when
            // more tasks wait: the woken thread would take their results one at a time,
            // parking at each, and every wake-up would cost this worker a yield.
            if (std::exchange(tls_woke_sleepers, false) && !queue_.maybe_nonempty()) std::this_thread::yield();
            if (tls_idle_early) {
                announced_idle = true;
                tls_idle_early = false;
            } else if (!full_.load(std::memory_order_relaxed)) {
                idle_.fetch_add(1, std::memory_order_seq_cst);
                announced_idle = true;
            }
            task->release();
        }
        if (announced_idle) idle_.fetch_sub(1, std::memory_order_seq_cst);
        me.searching.store(false, std::memory_order_seq_cst);
        worker_exit(index);
    }

    bool run_initializer() {
        try {
            initializer_();
            return true;
        } catch (...) {
            const auto e = std::current_exception();
            StateBase* queued;
            std::vector<Slot*> parked;
            std::string why;
            {
                std::lock_guard g(mutex_);
                broken_ = "A thread initializer failed, the thread pool is not usable anymore (" +
                          exception_type_name(e) + ": " + exception_message(e) + ")";
                why = broken_;
                parked = close_locked();
                queued = queue_.take_all();
            }
            wake(parked);
            finish_queue(queued, std::make_exception_ptr(BrokenThreadPool(why)));
            return false;
        }
    }

    void worker_exit(std::size_t index) {
        std::lock_guard g(mutex_);
        --live_workers_;
        exited_[index] = true;
        if (tls_waiting_in_shutdown) --waiting_workers_;
        exited_cv_.notify_all();
    }

    /// Pops the next task, spinning then parking while the queue is empty.
    /// Returns null when the pool shuts down (or breaks) and the queue is empty.
    StateBase* pop_or_park(Slot& me, bool& announced_idle) {
        for (;;) {
            if (StateBase* task = pop()) return took(me, task);
            // Spinning costs a CPU: on 2 cores, two spinning workers would starve the
            // submitter. At most max_spinners_ (half the CPUs) spin at once; others park.
            if (searching_besides(&me) < max_spinners_) {
                spin_for([this] { return queue_.maybe_nonempty() || queue_.closed(); }, kIdleSpin);
                if (StateBase* task = pop()) return took(me, task);
            }
            std::vector<Slot*> others;
            bool finished = false;
            StateBase* found = nullptr;
            {
                std::lock_guard g(mutex_);
                if (!announced_idle && !full_.load(std::memory_order_relaxed)) {
                    idle_.fetch_add(1, std::memory_order_seq_cst);
                    announced_idle = true;
                }
                me.searching.store(false, std::memory_order_seq_cst);
                me.word.store(0, std::memory_order_relaxed);
                parked_.push_back(&me);
                num_parked_.store(static_cast<int>(parked_.size()), std::memory_order_seq_cst);
                // Looked at after announcing ourselves parked: a submit that saw no parked
                // worker pushed before this pop, which then finds its task.
                StateBase* task = pop(finished);
                if (task || finished) {
                    parked_.pop_back();  // still ours: pushed under this same lock
                    num_parked_.store(static_cast<int>(parked_.size()), std::memory_order_relaxed);
                    // took() below, unlocked: it may wake a worker (taking mutex_).
                    found = task;
                    // Workers that parked after the close, while a task was still queued
                    // (in another worker's hands or half-pushed), now have nothing to wait for.
                    if (finished) others = close_locked();
                }
            }
            if (found) return took(me, found);
            if (!others.empty()) wake(others);
            if (finished) return nullptr;
            // Whoever pops us from parked_ marks us searching and sets the word (under
            // mutex_), then wakes us.
            while (me.word.load(std::memory_order_acquire) == 0) futex_wait(me.word, 0, std::nullopt);
        }
    }

    /// Called by a worker that popped `task`: it stops searching. If it was the last
    /// one searching while tasks remain and workers are parked, it wakes one: a submit
    /// that saw it searching did not (Go's scheduler does the same).
    StateBase* took(Slot& me, StateBase* task) {
        me.searching.store(false, std::memory_order_seq_cst);
        if (num_parked_.load(std::memory_order_seq_cst) > 0 && searching_besides(&me) == 0 && queue_.maybe_nonempty()) {
            wake_one();
        }
        return task;
    }

    /// How many workers other than `me` are searching (sequentially consistent loads).
    int searching_besides(const Slot* me) const noexcept {
        int n = 0;
        const int started = started_.load(std::memory_order_acquire);
        for (int i = 0; i < started; ++i) {
            const Slot* s = slots_[i].load(std::memory_order_acquire);
            if (s && s != me && s->searching.load(std::memory_order_seq_cst)) ++n;
        }
        return n;
    }

    StateBase* pop() {
        bool finished;
        return pop(finished);
    }
    StateBase* pop(bool& finished) {
        StateBase* task = queue_.pop(finished);
        if (task && !full_.load(std::memory_order_relaxed)) queued_.fetch_sub(1, std::memory_order_seq_cst);
        return task;
    }

    /// Throws why `task` was refused (the pool is shut down or broken), releasing it.
    [[noreturn]] void reject(StateBase* task) {
        std::string why;
        {
            std::lock_guard g(mutex_);  // broken_ is set before the queue closes, under mutex_
            why = broken_;
        }
        task->release();
        if (!why.empty()) throw BrokenThreadPool(why);
        throw ShutdownError();
    }

    void wake_one() {
        Slot* p;
        {
            std::lock_guard g(mutex_);
            p = unpark_one_locked();
        }
        if (p) futex_wake(p->word, 1);
    }

    /// Takes one parked worker to wake (called with mutex_ held); null when none is parked.
    Slot* unpark_one_locked() {
        if (parked_.empty()) return nullptr;
        Slot* p = parked_.back();  // the most recently parked: its cache is warmest
        parked_.pop_back();
        num_parked_.store(static_cast<int>(parked_.size()), std::memory_order_relaxed);
        p->searching.store(true, std::memory_order_seq_cst);  // no second wake for the same task
        p->word.store(1, std::memory_order_release);
        return p;
    }

    /// Closes the queue (no submit lands and no worker parks again) and takes every
    /// parked worker (called with mutex_ held; wake them once it is released).
    std::vector<Slot*> close_locked() {
        queue_.close();
        std::vector<Slot*> all;
        all.swap(parked_);
        num_parked_.store(0, std::memory_order_relaxed);
        for (Slot* p : all) {
            p->searching.store(true, std::memory_order_seq_cst);
            p->word.store(1, std::memory_order_release);
        }
        return all;
    }

    static void wake(const std::vector<Slot*>& parked) {
        for (Slot* p : parked) futex_wake(p->word, 1);
    }

    /// Fails every task of a detached queue with `error`, or cancels them when null.
    static void finish_queue(StateBase* list, const std::exception_ptr& error) {
        while (list) {
            StateBase* task = list;
            list = static_cast<StateBase*>(task->next_in_queue.exchange(nullptr, std::memory_order_relaxed));
            if (error) task->abandon(error);
            else task->cancel();
            task->release();
        }
    }

    const int max_workers_;
    const std::string prefix_;
    const std::function<void()> initializer_;

    TaskQueue queue_;
    mutable std::mutex mutex_;
    std::condition_variable exited_cv_;
    std::string broken_;         // guarded by mutex_; non-empty once broken
    std::vector<std::thread> threads_;  // guarded by mutex_
    int live_workers_ = 0;              // guarded by mutex_
    int waiting_workers_ = 0;           // guarded by mutex_; workers inside shutdown(wait=true)
    std::vector<bool> exited_;          // guarded by mutex_; per worker, parallel to threads_

    std::atomic<bool> full_{false};  // every worker started: queued_ and idle_ no longer kept
    std::atomic<long> queued_{0};    // tasks in queue_, while not full_
    std::atomic<int> idle_{0};       // workers that finished a task and took no other yet, while not full_
    std::vector<Slot*> parked_;    // guarded by mutex_; workers blocked in pop_or_park
    const int max_spinners_;
    std::unique_ptr<std::atomic<Slot*>[]> slots_;         // one per worker that may start, set as they start
    std::atomic<int> started_{0};                         // slots_ in use
    std::vector<std::unique_ptr<Slot>> slot_storage_;     // guarded by mutex_
    std::atomic<int> num_parked_{0};  // parked_.size(), readable without mutex_
    // Calls with a timeout are armed only while they run on a worker, which holds the
    // core: the timer outlives them all.
    std::unique_ptr<CallTimer> timer_;  // created under mutex_ at the first timed call
};

thread_local ThreadPoolCore* ThreadPoolCore::tls_current_pool = nullptr;
thread_local bool ThreadPoolCore::tls_waiting_in_shutdown = false;
thread_local bool ThreadPoolCore::tls_idle_early = false;

void thread_pool_enqueue(ThreadPoolCore& core, StateBase* task) { core.enqueue(task); }

CallTimer& thread_pool_timer(ThreadPoolCore& core) { return core.timer(); }

}  // namespace detail

ThreadPoolExecutor::ThreadPoolExecutor() : ThreadPoolExecutor(ThreadPoolOptions{}) {}

ThreadPoolExecutor::ThreadPoolExecutor(int max_workers)
    : ThreadPoolExecutor(ThreadPoolOptions{.max_workers = max_workers, .thread_name_prefix = {}, .initializer = {}}) {}

ThreadPoolExecutor::ThreadPoolExecutor(ThreadPoolOptions options)
    : core_(std::make_shared<detail::ThreadPoolCore>(std::move(options))) {}

ThreadPoolExecutor::~ThreadPoolExecutor() {
    core_->shutdown(true, false);
    core_->detach_self();
}

void ThreadPoolExecutor::shutdown(bool wait, bool cancel_futures) { core_->shutdown(wait, cancel_futures); }
int ThreadPoolExecutor::max_workers() const noexcept { return core_->max_workers(); }
int ThreadPoolExecutor::thread_count() const noexcept { return core_->thread_count(); }
const std::string& ThreadPoolExecutor::thread_name_prefix() const noexcept { return core_->prefix(); }

}  // namespace cf
