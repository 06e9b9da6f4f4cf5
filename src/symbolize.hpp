// Names for code addresses of this process: the function (demangled, also
// functions with internal linkage, read from the program's symbol table) and,
// where the program has debug information (-g1 or more), the file and line.
// Backed by elfutils' libdw (docs/design.md says why).
#pragma once

#include <cstddef>
#include <string>

namespace cf::detail {

/// "is_prime(long long)": the demangled name of the function holding `code`, or ""
/// when no symbol covers it.
std::string function_name(const void* code);

/// One line of a stack: "name at file:line" (or less, as far as known). `return_address`
/// says that `pc` is where a call returns to, so the line looked up is the call's.
std::string describe_frame(const void* pc, bool return_address);

/// The frames, one a line, "  #0 0x... name at file:line\n", most recent first; the first
/// is the interrupted instruction when `first_is_pc`, the others are return addresses.
std::string describe_stack(const void* const* pcs, std::size_t count, bool first_is_pc);

}  // namespace cf::detail
