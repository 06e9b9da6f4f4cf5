// Shows cf::wait with FIRST_EXCEPTION: it returns as soon as one call raises,
// leaving the calls still running in not_done.
#include <cfutures/cfutures.hpp>

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <stdexcept>
#include <vector>

int main() {
    using namespace std::chrono_literals;
    // The slow calls wait for this gate, so they are surely unfinished when wait() returns.
    std::promise<void> open_gate;
    std::shared_future<void> gate = open_gate.get_future().share();

    cf::ThreadPoolExecutor executor(4);
    std::vector<cf::Future<int>> futures;
    for (int i = 0; i < 3; ++i) {
        futures.push_back(executor.submit([gate, i] {
            gate.wait_for(10s);
            return i;
        }));
    }
    futures.push_back(executor.submit([]() -> int {
        std::this_thread::sleep_for(50ms);
        throw std::invalid_argument("bad input");
    }));

    // done, not_done = wait(futures, timeout=10, return_when=FIRST_EXCEPTION)
    auto [done, not_done] = cf::wait(futures, 10s, cf::FIRST_EXCEPTION);
    std::cout << "done: " << done.size() << ", not_done: " << not_done.size() << '\n';
    bool ok = done.size() == 1 && not_done.size() == 3;
    for (const cf::Future<int>& f : done) {
        try {
            std::rethrow_exception(f.exception());
        } catch (const std::invalid_argument& e) {
            std::cout << "the first exception: std::invalid_argument: " << e.what() << '\n';
        } catch (...) {
            ok = false;
        }
    }

    open_gate.set_value();
    for (const cf::Future<int>& f : not_done) ok = ok && f.result() >= 0;  // they finish normally
    std::cout << "the other calls finished normally\n";
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
