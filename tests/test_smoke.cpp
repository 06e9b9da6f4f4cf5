#include <cfutures/cfutures.hpp>
#include <gtest/gtest.h>
#include <numeric>
#include <vector>

TEST(Smoke, SubmitAndMap) {
    cf::ThreadPoolExecutor ex(2);
    auto f = ex.submit([](int a, int b) { return a * b; }, 6, 7);
    EXPECT_EQ(f.result(), 42);
    std::vector<int> v(100);
    std::iota(v.begin(), v.end(), 0);
    int i = 0;
    for (int r : ex.map([](int x) { return x * 2; }, v)) EXPECT_EQ(r, 2 * i++);
    EXPECT_EQ(i, 100);
    std::vector<cf::Future<int>> fs;
    for (int k = 0; k < 1000; ++k) fs.push_back(ex.submit([k] { return k; }));
    auto [done, not_done] = cf::wait(fs);
    EXPECT_EQ(done.size(), 1000u);
    int n = 0;
    for (cf::Future<int> g : cf::as_completed(fs)) { (void)g; ++n; }
    EXPECT_EQ(n, 1000);
}
