// Shows progress over long work: a long map's calls submitted to a ProcessPoolExecutor,
// taken with as_completed as they finish, and a live progress bar with the rate and the
// time left (redrawn in place on a terminal; a line per tenth otherwise).
//
//   ./progress          400 calls of a few milliseconds each
//   ./progress 5000     as many calls as you ask for
#include <cfutures/cfutures.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

// The work: the Collatz steps of a block of 20,000 numbers (a few milliseconds).
std::uint64_t collatz_steps(std::uint64_t block) {
    std::uint64_t steps = 0;
    for (std::uint64_t n = block * 20000 + 1; n <= (block + 1) * 20000; ++n) {
        for (std::uint64_t x = n; x != 1; x = x % 2 ? 3 * x + 1 : x / 2) ++steps;
    }
    return steps;
}

// Draws `[#####.....]  45%  180/400  52.3 calls/s  3 s left`.
class ProgressBar {
public:
    explicit ProgressBar(std::size_t total) : total_(total), tty_(::isatty(STDOUT_FILENO) == 1) {}

    void advance() {
        ++done_;
        const auto now = Clock::now();
        if (tty_) {
            // At most 20 redraws a second: a terminal is slower than the calls can finish.
            if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
            last_draw_ = now;
            std::printf("\r%s", line(now).c_str());
            if (done_ == total_) std::printf("\n");
        } else if (done_ * 10 / total_ != (done_ - 1) * 10 / total_) {
            std::printf("%s\n", line(now).c_str());  // a line per tenth in a log or a pipe
        }
        std::fflush(stdout);
    }

private:
    using Clock = std::chrono::steady_clock;

    std::string line(Clock::time_point now) const {
        constexpr std::size_t width = 30;
        const std::size_t filled = done_ * width / total_;
        const double seconds = std::chrono::duration<double>(now - start_).count();
        const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
        const double left = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
        std::string bar(width, '.');
        bar.replace(0, filled, filled, '#');
        char text[160];
        std::snprintf(text, sizeof text, "[%s] %3zu%%  %zu/%zu  %.1f calls/s  %.0f s left ", bar.c_str(),
                      done_ * 100 / total_, done_, total_, rate, left);
        return text;
    }

    std::size_t total_;
    std::size_t done_ = 0;
    bool tty_;
    Clock::time_point start_ = Clock::now();
    Clock::time_point last_draw_{};
};

int main(int argc, char** argv) {
    std::size_t total = 400;
    if (argc > 1) {
        char* end = nullptr;
        const long n = std::strtol(argv[1], &end, 10);
        if (*argv[1] == '\0' || *end != '\0' || n < 1) {
            std::fprintf(stderr, "usage: %s [number of calls, at least 1]; got '%s'\n", argv[0], argv[1]);
            return 2;
        }
        total = static_cast<std::size_t>(n);
    }

    cf::ProcessPoolExecutor executor;
    std::printf("%zu calls of collatz_steps on %d worker processes\n", total, executor.max_workers());
    std::vector<cf::Future<std::uint64_t>> futures;
    futures.reserve(total);
    for (std::uint64_t block = 0; block < total; ++block) futures.push_back(executor.submit(&collatz_steps, block));

    ProgressBar bar(total);
    std::uint64_t steps = 0;
    for (cf::Future<std::uint64_t> f : cf::as_completed(futures)) {
        steps += f.result();
        bar.advance();
    }
    std::printf("%llu Collatz steps in all\n", static_cast<unsigned long long>(steps));
    // The check that makes this a test (example_progress): the first block computed here.
    return steps > 0 && futures[0].result() == collatz_steps(0) ? EXIT_SUCCESS : EXIT_FAILURE;
}
