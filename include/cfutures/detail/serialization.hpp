// How values cross a process boundary: cereal's binary archives over byte
// strings, the standard types' cereal support, and the compile-time check
// that names a type which cannot be serialized.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/bitset.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

namespace cf::detail {

/// A streambuf appending to a std::string (cheaper than std::ostringstream's copies).
class StringSink final : public std::streambuf {
public:
    void target(std::string* out) noexcept { out_ = out; }

protected:
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        out_->append(s, static_cast<std::size_t>(n));
        return n;
    }
    int_type overflow(int_type c) override {
        if (c != traits_type::eof()) out_->push_back(static_cast<char>(c));
        return c;
    }

private:
    std::string* out_ = nullptr;
};

/// A stream over its own streambuf, lent out per thread: constructing a std::ios_base
/// (locale, facets) costs more than encoding a small call, and cereal's output archive
/// needs a stream. Each Encoder borrows one for its lifetime and gets a fresh archive
/// (cereal archives keep shared_ptr and polymorphic-type tables that must not outlive a
/// message).
template <class Buf, class Stream>
class PooledStream {
public:
    PooledStream() {
        auto& pool = free_list();
        if (pool.empty()) {
            entry_ = std::make_unique<Entry>();
        } else {
            entry_ = std::move(pool.back());
            pool.pop_back();
        }
        entry_->stream.clear();  // a failed read or write before leaves error bits
    }
    ~PooledStream() {
        auto& pool = free_list();
        if (pool.size() < 8) pool.push_back(std::move(entry_));  // nested use is rare and shallow
    }
    PooledStream(const PooledStream&) = delete;
    PooledStream& operator=(const PooledStream&) = delete;

    Buf& buf() noexcept { return entry_->buf; }
    Stream& stream() noexcept { return entry_->stream; }

private:
    struct Entry {
        Buf buf;
        Stream stream{&buf};
    };
    static std::vector<std::unique_ptr<Entry>>& free_list() {
        static thread_local std::vector<std::unique_ptr<Entry>> pool;
        return pool;
    }
    std::unique_ptr<Entry> entry_;
};

/// Writes values with cereal into a byte string (appending, unbuffered: `out` is
/// up to date after each call).
class Encoder {
public:
    explicit Encoder(std::string& out) : archive_((stream_.buf().target(&out), stream_.stream())) {}
    template <class... T>
    void operator()(T&&... values) {
        archive_(std::forward<T>(values)...);
    }

private:
    PooledStream<StringSink, std::ostream> stream_;
    cereal::BinaryOutputArchive archive_;
};

/// cereal's binary format read from a byte range, with every length checked before it
/// is believed. Bytes from another process are bad input until checked (see the threat
/// model in docs/design.md): cereal's own BinaryInputArchive resizes a string or a
/// container to the size it reads and only then finds the bytes missing, so a 64-byte
/// reply claiming a 1 GiB string made the parent allocate and zero 1 GiB. Here a size
/// (cereal's SizeTag: a string's characters, a container's items) larger than the bytes
/// left throws before anything is allocated for it, and so does any read past the end.
/// Every item of a string or container takes at least one byte in this format, except
/// items that serialize to nothing (empty classes): a container of those cannot hold more
/// items than the bytes that follow its size.
class BoundedInputArchive : public cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision> {
public:
    BoundedInputArchive(const char* data, std::size_t size) noexcept
        : cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision>(this), pos_(data), end_(data + size) {}

    void loadBinary(void* out, std::size_t n) {
        if (n > remaining())
            throw cereal::Exception("corrupt data: " + std::to_string(n) + " bytes wanted, " +
                                    std::to_string(remaining()) + " left");
        if (n == 0) return;  // an empty container's data() may be null: no memcpy from it
        std::memcpy(out, pos_, n);
        pos_ += n;
    }
    /// A size just read (items of a string or container): no more than the bytes left.
    void check_size(std::uint64_t items) const {
        if (items > remaining())
            throw cereal::Exception("corrupt data: a size of " + std::to_string(items) + " items with " +
                                    std::to_string(remaining()) + " bytes left");
    }
    [[nodiscard]] std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }
    /// The next `n` bytes in place, or null if fewer remain; consume them with skip().
    [[nodiscard]] const char* peek(std::size_t n) const noexcept { return remaining() >= n ? pos_ : nullptr; }
    void skip(std::size_t n) noexcept { pos_ += n; }

private:
    const char* pos_;
    const char* end_;
};

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, T& t) {
    if constexpr (std::is_same_v<T, bool>) {
        // A byte that is neither 0 nor 1 is no bool: copied into one, it would be undefined.
        unsigned char byte = 0;
        ar.loadBinary(&byte, 1);
        if (byte > 1) throw cereal::Exception("corrupt data: a bool of value " + std::to_string(byte));
        t = byte != 0;
    } else {
        ar.loadBinary(std::addressof(t), sizeof t);
    }
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::NameValuePair<T>& t) {
    ar(t.value);
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::SizeTag<T>& t) {
    ar(t.size);
    ar.check_size(static_cast<std::uint64_t>(t.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::BinaryData<T>& bd) {
    ar.loadBinary(bd.data, static_cast<std::size_t>(bd.size));
}

/// Reads values with cereal from a byte range, in place; throws when the bytes run out
/// or a length read is larger than the bytes left (BoundedInputArchive).
class Decoder {
public:
    Decoder(const char* data, std::size_t size) : archive_(data, size) {}
    explicit Decoder(std::string_view bytes) : Decoder(bytes.data(), bytes.size()) {}
    template <class... T>
    void operator()(T&... values) {
        archive_(values...);
    }
    [[nodiscard]] std::size_t remaining() const noexcept { return archive_.remaining(); }
    /// Raw access for hot paths that read what cereal's binary archive writes for
    /// arithmetic types (their bytes, as they are in memory).
    [[nodiscard]] const char* peek(std::size_t n) const noexcept { return archive_.peek(n); }
    void skip(std::size_t n) noexcept { archive_.skip(n); }

private:
    BoundedInputArchive archive_;
};

template <class T>
inline constexpr bool is_serializable_v =
    std::is_void_v<T> || (cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value &&
                          cereal::traits::is_input_serializable<T, BoundedInputArchive>::value);

/// Instantiated for every argument, result and callable state that crosses a
/// process boundary: a type that cannot be serialized stops the build here, and
/// the compiler's "required from" line names it (`require_serializable<YourType>`).
template <class T>
struct require_serializable {
    static_assert(is_serializable_v<T>,
                  "cfutures: this type cannot cross a process boundary. Give it a cereal "
                  "`template <class Archive> void serialize(Archive&)` member (or save/load), "
                  "or include the cereal header for it. The type is T in require_serializable<T>.");
    static constexpr bool value = true;
};

}  // namespace cf::detail

// Polymorphic types registered with CEREAL_REGISTER_TYPE are readable through it too; and
// what cereal's binary output archive writes is what it reads (for load_minimal checks).
CEREAL_REGISTER_ARCHIVE(cf::detail::BoundedInputArchive)
namespace cereal::traits::detail {
template <>
struct get_output_from_input<cf::detail::BoundedInputArchive> {
    using type = cereal::BinaryOutputArchive;
};
}  // namespace cereal::traits::detail
