// A call's reply as a worker wrote it (any bytes), decoded as the parent does
// (complete_call) for result types of every kind cereal handles: the decoder must
// throw or complete the future, never crash nor allocate more than the bytes describe.
// The first byte picks the result type.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "fuzz_util.hpp"

namespace {

struct Nested {
    std::string name;
    std::vector<std::map<int, std::string>> tables;
    std::optional<std::vector<double>> values;
    template <class Archive>
    void serialize(Archive& a) {
        a(name, tables, values);
    }
};

template <class R>
void decode(std::string_view reply) {
    cf_fuzz::decode_reply<R>(&cf::detail::complete_call<R>, reply);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    cf_fuzz::Input in(data, size);
    const std::uint8_t kind = in.byte();
    const std::string_view reply = in.rest();
    switch (kind % 12) {
        case 0: decode<int>(reply); break;
        case 1: decode<double>(reply); break;
        case 2: decode<void>(reply); break;
        case 3: decode<std::string>(reply); break;
        case 4: decode<std::vector<int>>(reply); break;
        case 5: decode<std::vector<std::string>>(reply); break;
        case 6: decode<std::map<std::string, std::vector<double>>>(reply); break;
        case 7: decode<std::optional<std::string>>(reply); break;
        case 8: decode<std::variant<int, std::string, std::vector<char>>>(reply); break;
        case 9: decode<std::shared_ptr<std::string>>(reply); break;
        case 10: decode<std::tuple<bool, std::set<long>, std::string>>(reply); break;
        default: decode<Nested>(reply); break;
    }
    return 0;
}
