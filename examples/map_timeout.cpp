// Shows Executor::map with a timeout (MapOptions): the results that come in
// time are yielded, then iteration throws cf::TimeoutError.
#include <cfutures/cfutures.hpp>

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <vector>

int main() {
    using namespace std::chrono_literals;
    // The slow calls wait for this gate (opened once the timeout has been caught), or for 5 s.
    std::promise<void> open_gate;
    std::shared_future<void> gate = open_gate.get_future().share();
    auto work = [gate](int ms) {
        if (ms > 100) gate.wait_for(5s);  // a call that takes too long
        return ms;
    };

    cf::ThreadPoolExecutor executor(2);
    const std::vector<int> delays = {1, 2, 3, 1000, 4, 5};
    int yielded = 0;
    bool timed_out = false;
    try {
        // for r in executor.map(work, delays, timeout=0.5):
        for (int r : executor.map(work, delays, cf::MapOptions{.timeout = 500ms})) {
            std::cout << "result: " << r << '\n';
            ++yielded;
        }
    } catch (const cf::TimeoutError& e) {
        std::cout << "cf::TimeoutError: " << e.what() << '\n';
        timed_out = true;
    }
    open_gate.set_value();
    return timed_out && yielded == 3 ? EXIT_SUCCESS : EXIT_FAILURE;
}
