// The RFC 3339 parser, on any bytes. An accepted time formats back into text
// the parser accepts and that names the same instant; the formatter, given any
// instant in the accepted range (read from the input's first bytes), writes
// text that parses back to it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "time/timestamp.hpp"

using namespace invsys;

namespace {

std::int64_t earliest = 0;
std::int64_t latest = 0;

void check_round_trip(std::int64_t micros) {
    const std::string text = format_timestamp(micros);
    FUZZ_CHECK(text.size() == 20 || text.size() == 27);
    const auto again = parse_timestamp(text);
    FUZZ_CHECK(again && *again == micros);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const auto first = parse_timestamp("0001-01-01T00:00:00Z");
    const auto last = parse_timestamp("9999-12-31T23:59:59.999999Z");
    FUZZ_CHECK(first && last);
    earliest = *first;
    latest = *last;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (const auto micros = parse_timestamp(text)) {
        FUZZ_CHECK(*micros >= earliest && *micros <= latest);
        FUZZ_CHECK(size >= 19);
        check_round_trip(*micros);
    }
    if (size >= sizeof(std::uint64_t)) {
        std::uint64_t bits;
        std::memcpy(&bits, data, sizeof bits);
        const auto span = static_cast<std::uint64_t>(latest - earliest) + 1;
        check_round_trip(earliest + static_cast<std::int64_t>(bits % span));
    }
    return 0;
}
