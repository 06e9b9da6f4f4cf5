// What crosses the process boundary of a ProcessPoolExecutor, with every start
// method: user types (a serialize() member, a save()/load() pair, a non-member
// serialize()), the standard types cereal knows, exceptions (registered ones
// come back as themselves, others as cf::RemoteError), callables with state,
// and functions that live in a shared library (loaded at other addresses in a
// Spawn or ForkServer worker).
#include <dlfcn.h>
#include <sys/personality.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include <cfutures/cfutures.hpp>

#include "executor_test_util.hpp"
#include "process_test_util.hpp"

using namespace std::chrono_literals;

namespace serialization_test {

constexpr auto kTimeout = 30s;

// ---- user types ----------------------------------------------------------------------

/// A serialize() member (the process pool tests' shared Point).
using cf_test::Point;

Point scale(Point p, int k) { return {p.x * k, p.y * k}; }
Point twice(const Point& p) { return scale(p, 2); }
Point add(Point a, Point b) { return {a.x + b.x, a.y + b.y}; }

/// A save()/load() pair; it counts how often it has been encoded, so a test can see
/// that a value really travelled (a Fork worker could otherwise see the parent's memory).
class Parcel {
public:
    Parcel() = default;
    explicit Parcel(std::string label) : label_(std::move(label)) {}
    const std::string& label() const { return label_; }
    int hops() const { return hops_; }

    template <class Archive>
    void save(Archive& a) const {
        a(label_, hops_ + 1);
    }
    template <class Archive>
    void load(Archive& a) {
        a(label_, hops_);
    }

private:
    std::string label_;
    int hops_ = 0;
};

Parcel relabel(Parcel p) { return Parcel(p.label() + " (seen by a worker after " + std::to_string(p.hops()) + " hop)"); }
int hops_seen(const Parcel& p) { return p.hops(); }

/// A non-member serialize().
struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    bool operator==(const Rgb&) const = default;
};
template <class Archive>
void serialize(Archive& a, Rgb& c) {
    a(c.r, c.g, c.b);
}
Rgb invert(Rgb c) {
    return {static_cast<std::uint8_t>(255 - c.r), static_cast<std::uint8_t>(255 - c.g), static_cast<std::uint8_t>(255 - c.b)};
}

/// User types nested in standard containers.
struct Polygon {
    std::string name;
    std::vector<Point> vertices;
    std::map<std::string, Point> labels;
    std::optional<Rgb> fill;
    template <class Archive>
    void serialize(Archive& a) {
        a(name, vertices, labels, fill);
    }
    bool operator==(const Polygon&) const = default;
};

Polygon translate(Polygon p, Point by) {
    for (auto& v : p.vertices) v = add(v, by);
    for (auto& [k, v] : p.labels) v = add(v, by);
    p.name += "'";
    return p;
}

// ---- standard types ---------------------------------------------------------------------

std::string shout(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s + "!";
}
std::vector<int> doubled(std::vector<int> v) {
    for (int& x : v) x *= 2;
    return v;
}
std::map<std::string, int> lengths(const std::vector<std::string>& words) {
    std::map<std::string, int> out;
    for (const auto& w : words) out[w] = static_cast<int>(w.size());
    return out;
}
int total(const std::map<std::string, int>& m) {
    int t = 0;
    for (const auto& [k, v] : m) t += v;
    return t;
}
std::optional<int> half_if_even(int x) { return x % 2 == 0 ? std::optional<int>(x / 2) : std::nullopt; }
int value_or(std::optional<int> o, int fallback) { return o.value_or(fallback); }
std::variant<int, std::string> flip(std::variant<int, std::string> v) {
    if (auto* i = std::get_if<int>(&v)) return std::string(static_cast<std::size_t>(*i), '*');
    return static_cast<int>(std::get<std::string>(v).size());
}
std::tuple<int, std::string, double> rotate(std::tuple<double, int, std::string> t) {
    return {std::get<1>(t), std::get<2>(t), std::get<0>(t)};
}
std::pair<std::string, int> swap_pair(std::pair<int, std::string> p) { return {p.second, p.first}; }
std::unique_ptr<Point> make_point(int x, int y) { return std::make_unique<Point>(Point{x, y}); }
std::unique_ptr<Point> no_point() { return nullptr; }
int sum_point(std::unique_ptr<Point> p) { return p ? p->x + p->y : -1; }
std::size_t byte_count(const std::string& s) { return s.size(); }

// ---- exceptions ---------------------------------------------------------------------------

struct MyError : std::runtime_error {
    explicit MyError(const std::string& what) : std::runtime_error(what) {}
};
static const bool kMyErrorRegistered = cf::register_exception<MyError>();

/// Never registered: comes back as cf::RemoteError.
struct UnregisteredError : std::logic_error {
    explicit UnregisteredError(const std::string& what) : std::logic_error(what) {}
};

template <class T>
struct TemplatedError : std::runtime_error {
    explicit TemplatedError(const std::string& what) : std::runtime_error(what) {}
};

int throw_my_error(int code) { throw MyError("my error " + std::to_string(code)); }
int throw_unregistered(int code) { throw UnregisteredError("unregistered " + std::to_string(code)); }
int throw_templated() { throw TemplatedError<std::vector<int>>("templated"); }
int at_index(const std::vector<int>& v, int i) { return v.at(static_cast<std::size_t>(i)); }
int fail_on_three(int x) {
    if (x == 3) throw MyError("three");
    return x * 10;
}

// ---- callables ----------------------------------------------------------------------------

/// A callable object with state that travels with each call.
struct Multiplier {
    int factor = 1;
    int operator()(int x) const { return x * factor; }
    template <class Archive>
    void serialize(Archive& a) {
        a(factor);
    }
};

/// A callable with a larger state, and a mutable call operator.
struct Lookup {
    std::map<std::string, int> table;
    int calls = 0;
    int operator()(const std::string& key) {
        ++calls;
        return table.at(key) * 100 + calls;
    }
    template <class Archive>
    void serialize(Archive& a) {
        a(table, calls);
    }
};

// ---- functions in shared libraries ------------------------------------------------------------

using UnaryDouble = double (*)(double);

/// The address of libm's sqrt in this process (dlsym: the real one, never a PLT stub).
std::uintptr_t libm_sqrt_address() { return reinterpret_cast<std::uintptr_t>(::dlsym(RTLD_DEFAULT, "sqrt")); }

/// Whether this process's libraries are loaded at random addresses.
bool aslr_enabled() {
    std::ifstream in("/proc/sys/kernel/randomize_va_space");
    int level = 0;
    in >> level;
    return level > 0 && (::personality(0xffffffff) & ADDR_NO_RANDOMIZE) == 0;
}

// ---- the fixture -------------------------------------------------------------------------------

class SerializationTest : public cf_test::StartMethodTest {
protected:
    cf::ProcessPoolExecutor ex_{options()};
    cf_test::DeadlockWatchdog watchdog_{::testing::UnitTest::GetInstance()->current_test_info()->name(), 100s};
};

TEST_P(SerializationTest, test_serialize_member_roundtrip) {
    EXPECT_EQ(ex_.submit(&scale, Point{1, 2}, 3).result(kTimeout), (Point{3, 6}));
    const Point p{-4, 5};
    EXPECT_EQ(ex_.submit(&twice, p).result(kTimeout), (Point{-8, 10}));
    EXPECT_EQ(ex_.submit(&add, p, Point{4, -5}).result(kTimeout), (Point{0, 0}));
}

TEST_P(SerializationTest, test_save_load_pair_roundtrip) {
    // The parcel is encoded once on the way out (1 hop in the worker) and once on the way back.
    EXPECT_EQ(ex_.submit(&hops_seen, Parcel("box")).result(kTimeout), 1);
    const Parcel back = ex_.submit(&relabel, Parcel("box")).result(kTimeout);
    EXPECT_EQ(back.label(), "box (seen by a worker after 1 hop)");
    EXPECT_EQ(back.hops(), 1);
}

TEST_P(SerializationTest, test_non_member_serialize_roundtrip) {
    EXPECT_EQ(ex_.submit(&invert, Rgb{0, 128, 255}).result(kTimeout), (Rgb{255, 127, 0}));
}

TEST_P(SerializationTest, test_nested_user_types_roundtrip) {
    Polygon tri{"tri", {{0, 0}, {3, 0}, {0, 4}}, {{"origin", {0, 0}}, {"top", {0, 4}}}, Rgb{1, 2, 3}};
    Polygon want{"tri'", {{1, 1}, {4, 1}, {1, 5}}, {{"origin", {1, 1}}, {"top", {1, 5}}}, Rgb{1, 2, 3}};
    EXPECT_EQ(ex_.submit(&translate, tri, Point{1, 1}).result(kTimeout), want);
    Polygon empty;
    EXPECT_EQ(ex_.submit(&translate, empty, Point{1, 1}).result(kTimeout).name, "'");
}

TEST_P(SerializationTest, test_user_types_through_map) {
    std::vector<Point> points;
    for (int i = 0; i < 25; ++i) points.push_back({i, -i});
    for (std::size_t chunksize : {std::size_t{1}, std::size_t{7}}) {
        std::vector<Point> got = ex_.map(&twice, points, cf::MapOptions{.chunksize = chunksize}).to_vector();
        ASSERT_EQ(got.size(), points.size());
        for (std::size_t i = 0; i < points.size(); ++i) EXPECT_EQ(got[i], scale(points[i], 2)) << i;
    }
    // Two ranges zipped, the shorter one wins.
    std::vector<Point> offsets{{10, 10}, {20, 20}, {30, 30}};
    std::vector<Point> sums = ex_.map(&add, points, offsets).to_vector();
    EXPECT_EQ(sums, (std::vector<Point>{{10, 10}, {21, 19}, {32, 28}}));
    std::vector<Parcel> parcels{Parcel("a"), Parcel("b")};
    std::vector<int> hops = ex_.map(&hops_seen, parcels, cf::MapOptions{.chunksize = 2}).to_vector();
    EXPECT_EQ(hops, (std::vector<int>{1, 1}));
}

TEST_P(SerializationTest, test_std_types_as_arguments_and_results) {
    EXPECT_EQ(ex_.submit(&shout, std::string("hello")).result(kTimeout), "HELLO!");
    EXPECT_EQ(ex_.submit(&shout, std::string()).result(kTimeout), "!");
    const std::string with_nul("a\0b", 3);
    EXPECT_EQ(ex_.submit(&byte_count, with_nul).result(kTimeout), 3u);
    EXPECT_EQ(ex_.submit(&byte_count, std::string(1 << 20, 'x')).result(kTimeout), std::size_t{1} << 20);

    EXPECT_EQ(ex_.submit(&doubled, std::vector<int>{1, 2, 3}).result(kTimeout), (std::vector<int>{2, 4, 6}));
    EXPECT_EQ(ex_.submit(&doubled, std::vector<int>{}).result(kTimeout), std::vector<int>{});

    const auto m = ex_.submit(&lengths, std::vector<std::string>{"a", "bcd", "ef"}).result(kTimeout);
    EXPECT_EQ(m, (std::map<std::string, int>{{"a", 1}, {"bcd", 3}, {"ef", 2}}));
    EXPECT_EQ(ex_.submit(&total, m).result(kTimeout), 6);

    EXPECT_EQ(ex_.submit(&half_if_even, 8).result(kTimeout), std::optional<int>(4));
    EXPECT_EQ(ex_.submit(&half_if_even, 7).result(kTimeout), std::nullopt);
    EXPECT_EQ(ex_.submit(&value_or, std::optional<int>(5), 0).result(kTimeout), 5);
    EXPECT_EQ(ex_.submit(&value_or, std::optional<int>(), -1).result(kTimeout), -1);

    using V = std::variant<int, std::string>;
    EXPECT_EQ(ex_.submit(&flip, V(3)).result(kTimeout), V(std::string("***")));
    EXPECT_EQ(ex_.submit(&flip, V(std::string("four"))).result(kTimeout), V(4));

    EXPECT_EQ(ex_.submit(&rotate, std::tuple<double, int, std::string>(2.5, 7, "x")).result(kTimeout),
              (std::tuple<int, std::string, double>(7, "x", 2.5)));
    EXPECT_EQ(ex_.submit(&swap_pair, std::pair<int, std::string>(1, "one")).result(kTimeout),
              (std::pair<std::string, int>("one", 1)));

    auto made = ex_.submit(&make_point, 3, 4);
    const std::unique_ptr<Point>& p = made.result(kTimeout);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, (Point{3, 4}));
    EXPECT_EQ(ex_.submit(&no_point).result(kTimeout), nullptr);
    EXPECT_EQ(ex_.submit(&sum_point, std::make_unique<Point>(Point{5, 6})).result(kTimeout), 11);
    EXPECT_EQ(ex_.submit(&sum_point, std::unique_ptr<Point>()).result(kTimeout), -1);
}

TEST_P(SerializationTest, test_std_types_through_map) {
    std::vector<std::vector<int>> vs{{1}, {2, 3}, {}, {4, 5, 6}};
    auto got = ex_.map(&doubled, vs, cf::MapOptions{.chunksize = 3}).to_vector();
    EXPECT_EQ(got, (std::vector<std::vector<int>>{{2}, {4, 6}, {}, {8, 10, 12}}));
    std::vector<int> xs{1, 2, 3, 4};
    auto halves = ex_.map(&half_if_even, xs).to_vector();
    EXPECT_EQ(halves, (std::vector<std::optional<int>>{std::nullopt, 1, std::nullopt, 2}));
}

TEST_P(SerializationTest, test_registered_exception_comes_back_as_itself) {
    auto f = ex_.submit(&throw_my_error, 42);
    EXPECT_EQ(cf_test::what_of<MyError>([&] { f.result(kTimeout); }), "my error 42");
    // The standard hierarchy is known without registration.
    EXPECT_THROW(ex_.submit(&at_index, std::vector<int>{1}, 5).result(kTimeout), std::out_of_range);
}

TEST_P(SerializationTest, test_unregistered_exception_comes_back_as_remote_error) {
    auto f = ex_.submit(&throw_unregistered, 7);
    try {
        f.result(kTimeout);
        ADD_FAILURE() << "no exception";
    } catch (const cf::RemoteError& e) {
        EXPECT_EQ(e.type_name(), "serialization_test::UnregisteredError");
        EXPECT_STREQ(e.what(), "unregistered 7");
    }
    try {
        ex_.submit(&throw_templated).result(kTimeout);
        ADD_FAILURE() << "no exception";
    } catch (const cf::RemoteError& e) {
        EXPECT_EQ(e.type_name(), "serialization_test::TemplatedError<std::vector<int, std::allocator<int> > >");
        EXPECT_STREQ(e.what(), "templated");
    }
    // A RemoteError is a cf::Error, so a std::runtime_error.
    EXPECT_THROW(ex_.submit(&throw_unregistered, 1).result(kTimeout), cf::Error);
}

TEST_P(SerializationTest, test_exception_in_map_fails_only_its_position) {
    std::vector<int> xs{1, 2, 3, 4};
    for (std::size_t chunksize : {std::size_t{1}, std::size_t{4}}) {
        auto results = ex_.map(&fail_on_three, xs, cf::MapOptions{.chunksize = chunksize});
        std::vector<std::string> seen;
        for (auto it = results.begin(); it != results.end(); ++it) {
            try {
                seen.push_back(std::to_string(*it));
            } catch (const MyError& e) {
                seen.push_back(e.what());
            }
        }
        EXPECT_EQ(seen, (std::vector<std::string>{"10", "20", "three", "40"})) << "chunksize " << chunksize;
    }
}

TEST_P(SerializationTest, test_stateful_callable_object) {
    EXPECT_EQ(ex_.submit(Multiplier{3}, 14).result(kTimeout), 42);
    const Multiplier by5{5};
    EXPECT_EQ(ex_.map(by5, std::vector<int>{1, 2, 3}).to_vector(), (std::vector<int>{5, 10, 15}));
    EXPECT_EQ(ex_.map(Multiplier{-1}, std::vector<int>{1, 2, 3}, cf::MapOptions{.chunksize = 2}).to_vector(),
              (std::vector<int>{-1, -2, -3}));

    // Each call runs on its own copy of the callable's state, as sent.
    Lookup lookup{{{"a", 1}, {"b", 2}}, 0};
    EXPECT_EQ(ex_.submit(lookup, std::string("a")).result(kTimeout), 101);
    EXPECT_EQ(ex_.submit(lookup, std::string("b")).result(kTimeout), 201);
    EXPECT_EQ(lookup.calls, 0);
    lookup.calls = 10;
    EXPECT_EQ(ex_.submit(lookup, std::string("b")).result(kTimeout), 211);
    EXPECT_THROW(ex_.submit(lookup, std::string("zzz")).result(kTimeout), std::out_of_range);
}

TEST_P(SerializationTest, test_lambda_without_captures) {
    EXPECT_EQ(ex_.submit([](int a, int b) { return a * b; }, 6, 7).result(kTimeout), 42);
    auto square = [](const Point& p) { return p.x * p.x + p.y * p.y; };
    EXPECT_EQ(ex_.map(square, std::vector<Point>{{3, 4}, {1, 1}}).to_vector(), (std::vector<int>{25, 2}));
}

TEST_P(SerializationTest, test_functions_from_shared_libraries) {
    // libm and libc functions: in a Spawn or ForkServer worker the libraries are
    // loaded at other addresses, so the pointer must travel as (library, offset).
    const auto sqrt_fn = static_cast<UnaryDouble>(&std::sqrt);
    const auto cbrt_fn = static_cast<UnaryDouble>(&std::cbrt);
    const auto labs_fn = static_cast<long (*)(long)>(&std::labs);
    EXPECT_DOUBLE_EQ(ex_.submit(sqrt_fn, 2.0).result(kTimeout), std::sqrt(2.0));
    EXPECT_DOUBLE_EQ(ex_.submit(cbrt_fn, 27.0).result(kTimeout), 3.0);
    EXPECT_EQ(ex_.submit(labs_fn, -12L).result(kTimeout), 12L);
    const std::vector<double> xs{0.0, 1.0, 4.0, 9.0, 2.25};
    EXPECT_EQ(ex_.map(sqrt_fn, xs, cf::MapOptions{.chunksize = 2}).to_vector(),
              (std::vector<double>{0.0, 1.0, 2.0, 3.0, 1.5}));

    // Where libm sits in the worker.
    const std::uintptr_t here = libm_sqrt_address();
    const std::uintptr_t there = ex_.submit(&libm_sqrt_address).result(kTimeout);
    ASSERT_NE(there, 0u);
    if (GetParam() == cf::StartMethod::Fork) {
        EXPECT_EQ(there, here) << "a forked worker is a copy of the program";
    } else if (aslr_enabled() && !cf_test::kUnderTsan) {
        // (ThreadSanitizer may start programs without ASLR.)
        EXPECT_NE(there, here) << "libm at the same address: the test did not exercise relocation";
    }
}

INSTANTIATE_TEST_SUITE_P(StartMethods, SerializationTest, cf_test::kAllStartMethods, cf_test::StartMethodName{});

}  // namespace serialization_test
