// Shows futures and coroutines: co_await on cf::Future, a coroutine that returns
// cf::Future<T>, and co_await cf::resume_on(executor) to move onto a pool thread.
#include <cfutures/cfutures.hpp>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

int fetch(int id) {
    if (id < 0) throw std::invalid_argument("no record " + std::to_string(id));
    return id * 10;
}

// Eager: runs in the caller until its first co_await, then wherever the awaited call finishes.
cf::Future<int> sum_records(cf::ThreadPoolExecutor& executor, int count) {
    int total = 0;
    for (int id = 0; id < count; ++id) total += co_await executor.submit(fetch, id);  // no thread blocks
    co_return total;
}

cf::Future<std::string> lookup(cf::ThreadPoolExecutor& executor, int id) {
    try {
        co_return std::to_string(co_await executor.submit(fetch, id));
    } catch (const std::invalid_argument& e) {  // the call's exception is thrown at the co_await
        co_return std::string("error: ") + e.what();
    }
}

cf::Future<bool> on_the_pool(cf::ThreadPoolExecutor& executor) {
    co_await cf::resume_on(executor);  // the rest runs in one of the pool's threads
    co_return true;
}

int main() {
    cf::ThreadPoolExecutor executor(2);
    const int total = sum_records(executor, 100).result();
    const std::string found = lookup(executor, 4).result();
    const std::string missing = lookup(executor, -1).result();
    const bool hopped = on_the_pool(executor).result();
    std::cout << "total: " << total << '\n' << found << '\n' << missing << '\n';
    const bool ok = total == 49500 && found == "40" && missing == "error: no record -1" && hopped;
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
