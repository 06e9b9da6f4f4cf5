// Shows a deadline on one call and request_stop() on a ProcessPoolExecutor: a call
// that hangs is given a second (cf::CallOptions{.timeout = 1s}); its future fails with
// cf::TimeoutError, the worker running it is killed and replaced, and the program
// carries on with the same pool. A call no longer wanted is stopped with request_stop().
#include <cfutures/cfutures.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

// A lookup that hangs for some keys, as a call stuck on a dead server would.
int lookup(int key) {
    if (key % 10 == 7) std::this_thread::sleep_for(std::chrono::hours(1));
    return key * 2;
}

int main() {
    using namespace std::chrono_literals;
    cf::ProcessPoolExecutor executor(2);

    auto stuck = executor.submit(cf::CallOptions{.timeout = 1s}, &lookup, 17);
    try {
        stuck.result();
        return EXIT_FAILURE;
    } catch (const cf::TimeoutError& e) {
        std::cout << "lookup(17): cf::TimeoutError: " << e.what() << '\n';
    }

    // The same pool carries on: the worker that ran lookup(17) was replaced.
    int sum = 0;
    for (int key : {1, 2, 3}) {
        const int value = executor.submit(cf::CallOptions{.timeout = 1s}, &lookup, key).result();
        std::cout << "lookup(" << key << ") = " << value << '\n';
        sum += value;
    }

    // request_stop(): a call no longer wanted is stopped, running or not.
    auto unwanted = executor.submit(&lookup, 27);
    std::this_thread::sleep_for(100ms);  // by now it runs (and would for an hour)
    const bool stopped = unwanted.request_stop();
    std::cout << "lookup(27): request_stop() " << (stopped ? "stopped it" : "did not stop it")
              << (unwanted.cancelled() ? ", its future is cancelled\n" : "\n");
    const int after = executor.submit(&lookup, 4).result();
    std::cout << "lookup(4) = " << after << " on the same pool\n";
    return sum == 12 && stopped && unwanted.cancelled() && after == 8 ? EXIT_SUCCESS : EXIT_FAILURE;
}
