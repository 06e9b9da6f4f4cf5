// What the worker loop tells the takeover (takeover.cpp): this process is a worker now.
#pragma once

namespace cf::detail {

/// From now on is_worker_process() is true in this process (a forked worker, which the
/// role variable never reached, says so this way). Being defined in takeover.cpp, the
/// call from the worker loop also makes the linker keep the takeover's constructor, which
/// nothing else references, in any program that links a process pool.
void mark_worker_process() noexcept;

}  // namespace cf::detail
