// std::chrono's durations, clocks and literals, without the rest of <chrono>.
//
// In C++20 mode libstdc++'s <chrono> also brings the calendar, time zones and
// their stream output (<sstream>, <locale>): 46,000 preprocessed lines that
// take 0.28 s to parse, more than half of what <future> costs, where cfutures'
// headers need only durations and steady_clock. libstdc++ keeps those in
// <bits/chrono.h>, the header its own <thread>, <mutex> and <future> use
// (10,000 lines, 0.05 s; measured with bench/header_cost/run.sh). Other
// standard libraries get <chrono>.
#pragma once

#include <version>  // defines __GLIBCXX__ under libstdc++

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>
#else
#include <chrono>
#endif
