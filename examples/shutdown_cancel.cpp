// Shows shutdown(wait=true, cancel_futures=true): the calls still queued are
// cancelled, the running one finishes, then shutdown returns.
#include <cfutures/cfutures.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <thread>
#include <vector>

int main() {
    using namespace std::chrono_literals;
    std::promise<void> started;
    std::promise<void> open_gate;
    std::shared_future<void> gate = open_gate.get_future().share();

    cf::ThreadPoolExecutor executor(1);  // one worker: the first call runs, the others queue
    std::vector<cf::Future<int>> futures;
    futures.push_back(executor.submit([&started, gate] {
        started.set_value();
        gate.wait_for(10s);
        return 0;
    }));
    for (int i = 1; i <= 5; ++i) futures.push_back(executor.submit([i] { return i; }));
    started.get_future().wait();

    // Lets the first call finish once the queued ones are cancelled (shutdown below is blocking).
    std::thread opener([&] {
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (!std::all_of(futures.begin() + 1, futures.end(), [](const auto& f) { return f.cancelled(); }) &&
               std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(1ms);
        }
        open_gate.set_value();
    });
    executor.shutdown(/*wait=*/true, /*cancel_futures=*/true);
    opener.join();

    bool ok = true;
    for (std::size_t i = 0; i < futures.size(); ++i) {
        const cf::Future<int>& f = futures[i];
        std::cout << "call " << i << ": " << (f.cancelled() ? "cancelled" : "ran") << '\n';
        ok = ok && f.done() && f.cancelled() == (i != 0);
    }
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
