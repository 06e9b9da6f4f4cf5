#include "call_tokens.hpp"

#include <mutex>
#include <optional>
#include <stop_token>
#include <unordered_set>

#include <cfutures/detail/remote_stop_token.hpp>

namespace cf::detail {

namespace {

struct Tokens {
    std::mutex mutex;
    std::uint64_t current = 0;     // the call that runs, 0 between calls
    std::uint64_t last_begun = 0;  // stops of calls up to this one come too late
    bool stop_current = false;     // asked to stop before its token was made
    std::optional<std::stop_source> source;  // the current call's, once it asked for its token
    std::unordered_set<std::uint64_t> early;  // stops of calls not begun yet
    void (*first_token_hook)() = nullptr;
    bool hook_ran = false;
};

Tokens& tokens() {
    static Tokens t;
    return t;
}

}  // namespace

std::stop_token current_call_stop_token() {
    Tokens& t = tokens();
    void (*hook)() = nullptr;
    std::stop_token token;
    {
        std::lock_guard g(t.mutex);
        if (!t.source) {
            t.source.emplace();
            if (t.stop_current) t.source->request_stop();
        }
        token = t.source->get_token();
        if (!t.hook_ran) {
            t.hook_ran = true;
            hook = t.first_token_hook;
        }
    }
    if (hook) hook();
    return token;
}

namespace call_tokens {

void begin(std::uint64_t id) noexcept {
    Tokens& t = tokens();
    std::lock_guard g(t.mutex);
    t.current = id;
    t.last_begun = id;
    t.source.reset();
    t.stop_current = !t.early.empty() && t.early.erase(id) > 0;
}

void end() noexcept {
    Tokens& t = tokens();
    std::lock_guard g(t.mutex);
    t.current = 0;
    t.source.reset();
    t.stop_current = false;
}

void stop(std::uint64_t id) noexcept {
    Tokens& t = tokens();
    std::lock_guard g(t.mutex);
    if (id == t.current && id != 0) {
        t.stop_current = true;
        if (t.source) t.source->request_stop();
    } else if (id > t.last_begun) {
        t.early.insert(id);
    }
}

void on_first_token(void (*hook)()) noexcept {
    Tokens& t = tokens();
    std::lock_guard g(t.mutex);
    t.first_token_hook = hook;
}

}  // namespace call_tokens
}  // namespace cf::detail
