// A downstream program: submits a call to a ThreadPoolExecutor and checks the result.
#include <cfutures/cfutures.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

int main() {
    cf::ThreadPoolExecutor ex(2);
    cf::Future<int> f = ex.submit([](int a, int b) { return a * b; }, 6, 7);
    cf::Future<std::string> g = ex.submit([] { return std::string(CFUTURES_VERSION); });
    const int r = f.result();
    std::cout << "cfutures " << g.result() << ": 6 * 7 = " << r << '\n';
    return r == 42 && !g.result().empty() ? EXIT_SUCCESS : EXIT_FAILURE;
}
