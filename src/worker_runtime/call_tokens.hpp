// The stop tokens of a worker's calls (API.md, "stopping calls": a rank runs a call to
// its end, but one that takes a std::stop_token is asked to stop). The worker's loop
// says which call runs (begin/end); whoever learns that a call was stopped says so
// (stop), from any thread; a call that takes a token gets it through
// current_call_stop_token() (remote_stop_token.hpp), made only when asked for: a
// stop_source costs an allocation, calls that take no token pay nothing.
#pragma once

#include <cstdint>

namespace cf::detail::call_tokens {

/// Call `id` begins (ids grow along a worker's calls). A stop that came for it before
/// it began leaves its token stopped from the start.
void begin(std::uint64_t id) noexcept;
/// The call that began last has returned.
void end() noexcept;
/// Call `id` was stopped: its token, if it runs or is yet to run, is asked to stop.
void stop(std::uint64_t id) noexcept;
/// Runs once, the first time a call asks for its token (the MPI worker starts the thread
/// that listens for stops then); set before any call runs.
void on_first_token(void (*hook)()) noexcept;

}  // namespace cf::detail::call_tokens
