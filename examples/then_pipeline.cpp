// Shows then, when_all and when_any: a word-count pipeline whose stages chain on
// futures (parse on a thread pool, count, combine) without any thread waiting.
#include <cfutures/cfutures.hpp>

#include <cstddef>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

std::vector<std::string> split_words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

int main() {
    const std::vector<std::string> documents = {"the quick brown fox", "jumps over", "the lazy dog", ""};
    cf::ThreadPoolExecutor executor(2);

    // Each stage: split on the pool, then count where the split finished.
    std::vector<cf::Future<std::size_t>> counts;
    for (const auto& doc : documents) {
        counts.push_back(executor.submit(split_words, doc).then([](const std::vector<std::string>& words) {
            return words.size();
        }));
    }

    // Combine once every count is in; then(executor, fn) formats the report on the pool.
    cf::Future<std::string> report =
        cf::when_all(counts)
            .then([](const std::vector<cf::Future<std::size_t>>& done) {
                std::size_t total = 0;
                for (const auto& f : done) total += f.result();
                return total;
            })
            .then(executor, [](std::size_t total) { return "words: " + std::to_string(total); });

    // An error skips the value continuations down the chain and lands in the last future.
    cf::Future<int> failing = executor.submit([]() -> int { throw std::runtime_error("bad document"); });
    cf::Future<std::string> recovered =
        failing.then([](int n) { return n * 2; }).then([](cf::Future<int> f) {
            try {
                return std::to_string(f.result());
            } catch (const std::exception& e) {
                return std::string("recovered from: ") + e.what();
            }
        });

    // when_any: the position of the first future to be done (here, the one done already).
    cf::Future<int> never;
    cf::Future<int> ready = executor.submit([] { return 1; });
    ready.result();
    const std::size_t first = cf::when_any(std::vector{never, ready}).result();

    std::cout << report.result() << '\n' << recovered.result() << '\n' << "first done: " << first << '\n';
    const bool ok = report.result() == "words: 9" && recovered.result() == "recovered from: bad document" && first == 1;
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
