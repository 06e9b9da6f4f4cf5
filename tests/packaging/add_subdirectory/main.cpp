// A downstream program built with cfutures as a subproject: submits calls to a
// ThreadPoolExecutor, waits for them and checks the results.
#include <cfutures/cfutures.hpp>

#include <cstdlib>
#include <iostream>
#include <vector>

int main() {
    cf::ThreadPoolExecutor ex(2);
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 10; ++i) fs.push_back(ex.submit([](int x) { return x * x; }, i));
    auto [done, not_done] = cf::wait(fs);
    int sum = 0;
    for (const cf::Future<int>& f : fs) sum += f.result();
    std::cout << "cfutures " << CFUTURES_VERSION << ": " << done.size() << " done, sum of squares " << sum << '\n';
    return done.size() == 10 && not_done.empty() && sum == 285 ? EXIT_SUCCESS : EXIT_FAILURE;
}
