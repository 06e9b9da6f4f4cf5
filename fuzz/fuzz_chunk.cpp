// A map() chunk's reply as a worker wrote it (any bytes), decoded as the parent does
// (complete_chunk): counts, layouts and per-item outcomes are all claims to check.
// The first byte picks the result type.
#include <string>
#include <vector>

#include "fuzz_util.hpp"

namespace {

template <class R>
void decode(std::string_view reply) {
    cf_fuzz::decode_reply<cf::detail::ChunkOutcomes<R>>(&cf::detail::complete_chunk<R>, reply);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    cf_fuzz::Input in(data, size);
    const std::uint8_t kind = in.byte();
    const std::string_view reply = in.rest();
    switch (kind % 5) {
        case 0: decode<int>(reply); break;
        case 1: decode<bool>(reply); break;
        case 2: decode<void>(reply); break;
        case 3: decode<std::string>(reply); break;
        default: decode<std::vector<double>>(reply); break;
    }
    return 0;
}
