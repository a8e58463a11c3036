// What clients send for authentication and tracing, and the /api/keys body:
// the Authorization header's bearer token, X-Request-Id, the POST /api/keys
// body, and the ?force=true check of DELETE queries. The first byte picks
// the parser, the rest is its input. A token that is accepted is a
// well-formed secret found in the input; an accepted request id goes into a
// problem body unescaped, so it must hold only its safe characters; a key
// body is refused with error(invalid) or (too large) error(payload_too_large)
// and nothing else.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/pipeline.hpp"
#include "auth/credentials.hpp"
#include "auth/keys.hpp"
#include "auth/role.hpp"
#include "error/error.hpp"
#include "fuzz_check.hpp"
#include "json/codec.hpp"

using namespace invsys;

namespace {

void fuzz_bearer(std::string_view header) {
    const auto token = bearer_token(header);
    if (!token) return;
    FUZZ_CHECK(is_well_formed_secret(*token));
    FUZZ_CHECK(header.size() >= token->size() + 7);
    FUZZ_CHECK(header.substr(header.size() - token->size()) == *token);
    FUZZ_CHECK(secret_hash(*token).size() == 64);
}

void fuzz_request_id(std::string_view id) {
    if (!is_well_formed_request_id(id)) return;
    for (const char c : id)
        FUZZ_CHECK(c != '"' && c != '\\' && static_cast<unsigned char>(c) > 0x20);
    const std::string body = with_request_id(R"({"type":"about:blank","status":404})", id);
    FUZZ_CHECK(body.size() > id.size());
    FUZZ_CHECK(body.back() == '}');
}

void fuzz_key_body(std::string_view body) {
    try {
        const key_input input = decode_key_input(body);
        FUZZ_CHECK(input.name.has_value() && input.role.has_value());
        try {
            check_key_name(*input.name);
        } catch (const error& e) {
            FUZZ_CHECK(e.code() == error_code::invalid);
        }
        (void)parse_key_role(*input.role);
    } catch (const error& e) {
        FUZZ_CHECK(e.code() == error_code::invalid || e.code() == error_code::payload_too_large);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0:
            fuzz_bearer(input);
            break;
        case 1:
            fuzz_request_id(input);
            break;
        case 2:
            fuzz_key_body(input);
            break;
        default:
            (void)asks_for_force(input);
            break;
    }
    return 0;
}
