// A call that crosses a process boundary, shared by every process-based
// executor (the process pool, MPI): how the parent encodes fn(args...), how
// the worker decodes, runs it and encodes the outcome, and how the parent
// completes the future from that reply. Transports only move the bytes.
//
// Call bytes:   CodeRef(invoker) | callable | args...        (cereal binary)
// Reply bytes:  u8 status | result (ok) or RaisedInfo (raised)
// Chunk reply:  u64 count | u8 ChunkLayout | the outcomes
// A chunk (map with chunksize > 1) is one call whose reply holds one
// outcome per item, so one failed item fails only its own position.
#pragma once

#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <cfutures/detail/code_ref.hpp>
#include <cfutures/detail/result_state.hpp>
#include <cfutures/detail/serialization.hpp>
#include <cfutures/detail/task_state.hpp>
#include <cfutures/detail/type_name.hpp>
#include <cfutures/exception_registry.hpp>
#include <cfutures/map_result.hpp>

namespace cf::detail {

/// Runs in the worker: decodes a call from `in`, runs it, appends the reply to `reply`.
/// Throws only when the call cannot be decoded (which breaks the pool).
using Invoker = void (*)(Decoder& in, std::string& reply);

enum class ReplyStatus : std::uint8_t { ok = 0, raised = 1 };

/// How a chunk's reply lays out its outcomes, after the count: one status and outcome per
/// item, or (arithmetic results, when no call threw) the values' bytes as one block.
enum class ChunkLayout : std::uint8_t { per_item = 0, raw_values = 1 };

/// An exception as it travels from a worker.
struct RaisedInfo {
    std::string type_name;
    std::string what;
    std::string traceback;

    template <class Archive>
    void serialize(Archive& a) {
        a(type_name, what, traceback);
    }
};

/// What a traceback says of the call that raised: the function, and the arguments' types.
struct CallName {
    const void* code = nullptr;                // a function pointer's target; null for a callable object
    const std::type_info* callable = nullptr;  // the callable's type
    std::string (*arguments)() = nullptr;      // "(long long)"
};

/// Describes the exception being handled (call inside a catch block); the traceback
/// names the worker process, the function called (by its symbol, or the callable's
/// type) and, when it could be captured, the stack at the throw.
RaisedInfo describe_current_exception(const CallName& call);

/// "(long long, std::string)": the arguments' types, for tracebacks.
template <class... Args>
std::string describe_arguments() {
    std::string s = "(";
    [[maybe_unused]] const char* sep = "";  // unused when the call takes no arguments
    ((s += sep, s += demangle(typeid(Args)), sep = ", "), ...);
    return s + ")";
}

/// Tells the worker's crash reporter which function runs (null, null: none).
void note_running_call(const void* code, const std::type_info* callable) noexcept;

/// Marks a call as running, for crash reports, for its scope.
class RunningCall {
public:
    RunningCall(const void* code, const std::type_info& callable) noexcept { note_running_call(code, &callable); }
    ~RunningCall() { note_running_call(nullptr, nullptr); }
    RunningCall(const RunningCall&) = delete;
    RunningCall& operator=(const RunningCall&) = delete;
};

// ---- callables -----------------------------------------------------------------

template <class F>
inline constexpr bool is_function_pointer_v = std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>;

template <class F>
inline constexpr bool is_stateless_callable_v =
    std::is_class_v<F> && std::is_empty_v<F> && std::is_default_constructible_v<F>;

template <class F>
inline constexpr bool is_remote_callable_v =
    is_function_pointer_v<F> || is_stateless_callable_v<F> || (std::is_class_v<F> && is_serializable_v<F>);

/// The callable-side twin of require_serializable: names the callable type that cannot travel.
template <class F>
struct require_remote_callable {
    static_assert(is_remote_callable_v<F>,
                  "cfutures: this callable cannot be called in another process. Use a function pointer, "
                  "a lambda without captures, or a class with a cereal serialize() member. "
                  "The type is F in require_remote_callable<F>.");
    static constexpr bool value = true;
};

template <class F>
void encode_callable(Encoder& e, const F& fn) {
    if constexpr (is_function_pointer_v<F>) {
        e(code_ref_of(fn));
    } else if constexpr (is_stateless_callable_v<F>) {
        // Nothing to send: the worker default-constructs it.
    } else {
        e(fn);
    }
}

/// The code a callable runs, when it is a function pointer (null otherwise).
template <class F>
const void* code_of(const F& fn) noexcept {
    if constexpr (is_function_pointer_v<F>) {
        return reinterpret_cast<const void*>(fn);
    } else {
        return nullptr;
    }
}

template <class F>
CallName call_name_of(const F& fn) noexcept {
    return CallName{code_of(fn), &typeid(F), nullptr};
}

template <class F>
F decode_callable(Decoder& d) {
    if constexpr (is_function_pointer_v<F>) {
        CodeRef ref;
        d(ref);
        return code_from_ref<std::remove_pointer_t<F>>(ref);
    } else if constexpr (is_stateless_callable_v<F>) {
        return F{};
    } else {
        F fn;
        d(fn);
        return fn;
    }
}

// ---- arguments ---------------------------------------------------------------------

/// What an argument of fn travels as. For a function pointer, the parameter's type
/// without cv and reference, when the argument converts to it and it can be serialized:
/// `submit(&count_words, "a literal")` sends a std::string for
/// `int count_words(const std::string&)`. Otherwise (other callables, pointer or
/// non-serializable parameters such as std::string_view) the argument's decayed type.
template <class Param, class Arg>
struct wire_arg {
    using type = std::decay_t<Arg>;
};
template <class Param, class Arg>
    requires(std::is_convertible_v<Arg, std::remove_cvref_t<Param>> && !std::is_pointer_v<std::remove_cvref_t<Param>> &&
             is_serializable_v<std::remove_cvref_t<Param>>)
struct wire_arg<Param, Arg> {
    using type = std::remove_cvref_t<Param>;
};

/// std::tuple of the types fn(args...)'s arguments travel as.
template <class Fn, class... Args>
struct wire_args {
    using type = std::tuple<std::decay_t<Args>...>;
};
template <class R, class... Params, class... Args>
    requires(sizeof...(Params) == sizeof...(Args))
struct wire_args<R (*)(Params...), Args...> {
    using type = std::tuple<typename wire_arg<Params, Args>::type...>;
};
template <class R, class... Params, class... Args>
    requires(sizeof...(Params) == sizeof...(Args))
struct wire_args<R (*)(Params...) noexcept, Args...> {
    using type = std::tuple<typename wire_arg<Params, Args>::type...>;
};
template <class Fn, class... Args>
using wire_args_t = typename wire_args<std::decay_t<Fn>, Args...>::type;

/// Instantiated for every argument that crosses a process boundary: a raw pointer
/// means nothing in another process, and this names which argument is one (cereal's
/// own error would name neither).
template <std::size_t Position, class T>
struct require_value_argument {
    static_assert(!std::is_pointer_v<T>,
                  "cfutures: a raw pointer cannot cross a process boundary (the worker has its own memory). "
                  "Pass a value instead: std::string for text, std::vector for an array, or make the function "
                  "take one. Which argument: Position (from 1) and its type T in "
                  "require_value_argument<Position, T>.");
    static constexpr bool value = !std::is_pointer_v<T>;
};

template <class... Args>
constexpr bool require_value_arguments() {
    return []<std::size_t... I>(std::index_sequence<I...>) {
        return (require_value_argument<I + 1, Args>::value && ...);
    }(std::index_sequence_for<Args...>{});
}

// ---- worker side ------------------------------------------------------------------

/// Appends the outcome of `call()` to `reply` through `e` (an Encoder appending to
/// `reply`): its value, or the exception it threw, or the exception thrown while
/// encoding the value (the worker lives on). Returns false when encoding failed half-way:
/// `e`'s tables (shared pointers written) then name bytes that were cut, so the caller
/// must not use `e` again.
template <class R, class Call>
[[nodiscard]] bool append_outcome(std::string& reply, Encoder& e, Call&& call, const CallName& name) {
    const std::size_t mark = reply.size();
    bool encoding = false;
    try {
        if constexpr (std::is_void_v<R>) {
            std::forward<Call>(call)();
            reply.push_back(static_cast<char>(ReplyStatus::ok));
        } else {
            R value = std::forward<Call>(call)();
            reply.push_back(static_cast<char>(ReplyStatus::ok));
            encoding = true;
            if constexpr (std::is_arithmetic_v<R>) {
                // What cereal's binary archive writes for it, without a virtual call per item.
                reply.append(reinterpret_cast<const char*>(&value), sizeof value);
            } else {
                e(value);
            }
        }
    } catch (...) {
        reply.resize(mark);
        reply.push_back(static_cast<char>(ReplyStatus::raised));
        Encoder fresh(reply);
        fresh(describe_current_exception(name));
        return !encoding;
    }
    return true;
}

template <class F, class... Args>
struct RemoteCall {
    using R = call_result_t<F, Args...>;

    static void invoke(Decoder& in, std::string& reply) {
        F fn = decode_callable<F>(in);
        std::tuple<Args...> args;
        in(args);
        Encoder e(reply);
        CallName name = call_name_of(fn);
        name.arguments = &describe_arguments<Args...>;
        const RunningCall running(name.code, typeid(F));
        // One outcome: whether `e` could be used again does not matter.
        static_cast<void>(append_outcome<R>(reply, e, [&]() -> R { return std::apply(fn, std::move(args)); }, name));
    }
};

/// A map() chunk whose calls take one arithmetic argument travels as the count and then
/// the arguments' bytes, copied in one go (cereal would make a virtual call per item).
template <class... Args>
inline constexpr bool raw_chunk_items_v = sizeof...(Args) == 1 && (std::is_arithmetic_v<Args> && ...);

template <class F, class... Args>
struct RemoteChunk {
    using R = call_result_t<F, Args...>;

    static void invoke(Decoder& in, std::string& reply) {
        F fn = decode_callable<F>(in);
        std::vector<std::tuple<Args...>> items;
        if constexpr (raw_chunk_items_v<Args...>) {
            using A = std::tuple_element_t<0, std::tuple<Args...>>;
            std::uint64_t n = 0;
            in(n);
            if (n > in.remaining() / sizeof(A)) throw std::runtime_error("corrupt chunk: fewer bytes than items");
            const char* bytes = in.peek(n * sizeof(A));
            items.resize(n);
            for (std::size_t i = 0; i < n; ++i) std::memcpy(&std::get<0>(items[i]), bytes + i * sizeof(A), sizeof(A));
            in.skip(n * sizeof(A));
        } else {
            in(items);
        }
        const std::uint64_t count = items.size();
        CallName name = call_name_of(fn);
        name.arguments = &describe_arguments<Args...>;
        const RunningCall running(name.code, typeid(F));
        // One encoder for the whole chunk, as the parent decodes it with one decoder.
        std::optional<Encoder> e(std::in_place, reply);
        (*e)(count);
        std::size_t done = 0;
        if constexpr (std::is_arithmetic_v<R>) {
            // The calls of a chunk usually all return: their values go as one block.
            reply.push_back(static_cast<char>(ChunkLayout::raw_values));
            const std::size_t at = reply.size();
            reply.resize(at + count * sizeof(R));
            try {
                for (; done < count; ++done) {
                    const R value = std::apply(fn, std::move(items[done]));
                    std::memcpy(reply.data() + at + done * sizeof(R), &value, sizeof value);
                }
                return;
            } catch (...) {
                // Call `done` threw: the chunk goes per item after all, values so far first.
                const std::string values = reply.substr(at, done * sizeof(R));
                reply.resize(at - 1);
                reply.push_back(static_cast<char>(ChunkLayout::per_item));
                for (std::size_t i = 0; i < done; ++i) {
                    reply.push_back(static_cast<char>(ReplyStatus::ok));
                    reply.append(values, i * sizeof(R), sizeof(R));
                }
                reply.push_back(static_cast<char>(ReplyStatus::raised));
                Encoder fresh(reply);
                fresh(describe_current_exception(name));
                ++done;
            }
        } else {
            reply.push_back(static_cast<char>(ChunkLayout::per_item));
        }
        for (; done < count; ++done) {
            if (!append_outcome<R>(reply, *e, [&]() -> R { return std::apply(fn, std::move(items[done])); }, name)) {
                e.emplace(reply);
            }
        }
    }
};

// ---- parent side ------------------------------------------------------------------

template <class Invoke>
CodeRef invoker_ref() {
    // Once per instantiation: looking a module up takes a lock in the loader.
    static const CodeRef ref = code_ref_of(reinterpret_cast<const void*>(static_cast<Invoker>(&Invoke::invoke)));
    return ref;
}

/// The compile-time checks of a call that crosses a process boundary, each naming what
/// fails. False when an argument is a raw pointer: the caller then stops before cereal,
/// whose own error about it names neither the argument nor its position.
template <class Fn, class... Args>
constexpr bool check_remote_call() {
    static_assert(require_remote_callable<Fn>::value);
    if constexpr (!require_value_arguments<Args...>()) {
        return false;
    } else {
        static_assert((require_serializable<Args>::value && ...));
        static_assert(require_serializable<call_result_t<Fn, Args...>>::value);
        return true;
    }
}

/// The bytes of the call fn(args...); throws what the arguments' serialization throws.
template <class Fn, class... Args>
std::string encode_call(const Fn& fn, const Args&... args) {
    if constexpr (!check_remote_call<Fn, Args...>()) {
        return {};  // a static_assert has said why
    } else {
        std::string out;
        Encoder e(out);
        e(invoker_ref<RemoteCall<Fn, Args...>>());
        encode_callable(e, fn);
        if constexpr (sizeof...(Args) > 0) e(args...);
        return out;
    }
}

/// encode_call with each argument converted to the type it travels as (`Wire`, a
/// wire_args_t): the conversion happens as `args` bind to encode_call's parameters.
template <class Fn, class... Wire, class... Args>
std::string encode_call_as(std::tuple<Wire...>*, const Fn& fn, const Args&... args) {
    return encode_call<Fn, Wire...>(fn, args...);
}

/// The bytes of one chunk of map() calls.
template <class Fn, class... Args>
std::string encode_chunk(const Fn& fn, const std::vector<std::tuple<Args...>>& items) {
    if constexpr (!check_remote_call<Fn, Args...>()) {
        return {};  // a static_assert has said why
    } else {
        std::string out;
        Encoder e(out);
        e(invoker_ref<RemoteChunk<Fn, Args...>>());
        encode_callable(e, fn);
        if constexpr (raw_chunk_items_v<Args...>) {
            out.reserve(out.size() + sizeof(std::uint64_t) + items.size() * sizeof(std::get<0>(items.front())));
            e(static_cast<std::uint64_t>(items.size()));
            for (const auto& item : items) {  // the encoder writes through: `out` is up to date
                out.append(reinterpret_cast<const char*>(&std::get<0>(item)), sizeof(std::get<0>(item)));
            }
        } else {
            e(items);
        }
        return out;
    }
}

/// A reply longer than what it holds is as corrupt as a shorter one.
[[noreturn]] inline void throw_trailing_bytes(std::size_t extra) {
    throw std::runtime_error("corrupt reply: " + std::to_string(extra) + " bytes after its end");
}

template <class R>
std::variant<map_value_t<R>, std::exception_ptr> decode_outcome(Decoder& d) {
    if constexpr (std::is_arithmetic_v<R>) {
        // The common case of map() chunks, read in place: a status byte, then the value's bytes.
        if (const char* p = d.peek(1 + sizeof(R));
            p && p[0] == static_cast<char>(ReplyStatus::ok) && (!std::is_same_v<R, bool> || static_cast<unsigned char>(p[1]) <= 1)) {
            R value;
            std::memcpy(&value, p + 1, sizeof value);
            d.skip(1 + sizeof(R));
            return value;
        }
    }
    std::uint8_t status = 0;
    d(status);
    if (status == static_cast<std::uint8_t>(ReplyStatus::ok)) {
        if constexpr (std::is_void_v<R>) {
            return std::monostate{};
        } else {
            R value;
            d(value);
            return value;
        }
    }
    if (status != static_cast<std::uint8_t>(ReplyStatus::raised))
        throw std::runtime_error("corrupt reply: unknown status " + std::to_string(status));
    RaisedInfo info;
    d(info);
    return rebuild_exception(info.type_name, info.what, info.traceback);
}

/// Completes `state` (a ResultState<R>) from a call's reply; throws if the reply cannot be decoded.
template <class R>
void complete_call(StateBase* state, std::string_view reply) {
    // The decoder goes before the future completes: cereal's archive holds a reference to
    // every std::shared_ptr it built, which the result's owner must not find shared.
    auto outcome = [&] {
        Decoder d(reply);
        auto decoded = decode_outcome<R>(d);
        if (d.remaining() != 0) throw_trailing_bytes(d.remaining());
        return decoded;
    }();
    auto* s = static_cast<ResultState<R>*>(state);
    try {
        if (auto* e = std::get_if<std::exception_ptr>(&outcome)) {
            s->set_exception(*e);
        } else if constexpr (std::is_void_v<R>) {
            s->set_result();
        } else {
            s->set_result(std::move(std::get<0>(outcome)));
        }
    } catch (const InvalidStateError&) {
        // Completed by hand while it ran: the hand wins, as in Python.
    }
}

/// Completes `state` (a ResultState<ChunkOutcomes<R>>) from a chunk's reply.
template <class R>
void complete_chunk(StateBase* state, std::string_view reply) {
    ChunkOutcomes<R> items;
    {
        Decoder d(reply);  // gone before the future completes, as in complete_call
        std::uint64_t count = 0;
        std::uint8_t layout = 0;
        d(count, layout);
        if (layout == static_cast<std::uint8_t>(ChunkLayout::raw_values)) {
            if constexpr (std::is_arithmetic_v<R>) {
                if (count > d.remaining() / sizeof(R)) throw std::runtime_error("corrupt reply: fewer bytes than values");
                items.assign_raw(d.peek(count * sizeof(R)), static_cast<std::size_t>(count));
                d.skip(count * sizeof(R));
            } else {
                throw std::runtime_error("corrupt reply: raw values of a type that is not arithmetic");
            }
        } else {
            if (count > d.remaining()) throw std::runtime_error("corrupt reply: fewer bytes than outcomes");
            items.reserve(static_cast<std::size_t>(count));
            for (std::uint64_t i = 0; i < count; ++i) {
                auto outcome = decode_outcome<R>(d);
                if (auto* e = std::get_if<std::exception_ptr>(&outcome)) {
                    items.push_exception(std::move(*e));
                } else {
                    items.push_value(std::move(std::get<0>(outcome)));
                }
            }
        }
        if (d.remaining() != 0) throw_trailing_bytes(d.remaining());
    }
    try {
        static_cast<ResultState<ChunkOutcomes<R>>*>(state)->set_result(std::move(items));
    } catch (const InvalidStateError&) {
    }
}

/// Completes a state from reply bytes; instantiated per result type.
using ReplyDecoder = void (*)(StateBase* state, std::string_view reply);

}  // namespace cf::detail
