// Counts calls of the global operator new, so that a test can say what an operation
// allocates. Include it in exactly one file of a program: it replaces the global
// allocation functions (malloc underneath, so the sanitizers still see every block).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace cf_test {
inline std::atomic<long> g_allocations{0};

/// How many times operator new ran in this process so far.
inline long allocations() { return g_allocations.load(std::memory_order_relaxed); }
}  // namespace cf_test

// None inlined: GCC would see malloc() behind operator new or free() behind operator
// delete, and take them for a mismatched pair (-Wmismatched-new-delete).
__attribute__((noinline)) void* operator new(std::size_t size) {
    cf_test::g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
__attribute__((noinline)) void* operator new[](std::size_t size) { return operator new(size); }
__attribute__((noinline)) void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    cf_test::g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(size ? size : 1);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
