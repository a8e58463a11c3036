// Credentials and request ids as text (auth/credentials.hpp), the key
// rules (auth/keys.hpp) and the pipeline helpers around them, as tables.
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "api/pipeline.hpp"
#include "auth/credentials.hpp"
#include "auth/role.hpp"
#include "error/error.hpp"
#include "json/codec.hpp"

using namespace invsys;

TEST_CASE("a bearer token is taken only when the header is well formed", "[auth]") {
    const std::string secret = "invsys_" + std::string(64, 'a');
    struct row {
        std::string header;
        bool accepted;
    };
    const row rows[] = {
        {"Bearer " + secret, true},
        {"bearer " + secret, true},
        {"BEARER   " + secret, true},
        {"Bearer " + std::string(32, 'x') + "==", true},
        {"Bearer " + std::string(31, 'x'), false},
        {"Bearer " + std::string(257, 'x'), false},
        {"Bearer " + secret + " ", false},
        {"Bearer " + secret + " extra", false},
        {"Bearer\t" + secret, false},
        {"Bearer", false},
        {"Basic dXNlcjpwYXNzd29yZA==", false},
        {"Bearer " + std::string(20, 'x') + "=" + std::string(20, 'x'), false},
        {"Bearer " + std::string(40, '='), false},
        {"Bearer " + std::string(40, '%'), false},
        {"", false},
    };
    for (const row& r : rows) {
        CAPTURE(r.header);
        CHECK(bearer_token(r.header).has_value() == r.accepted);
    }
    CHECK(*bearer_token("Bearer " + secret) == secret);
}

TEST_CASE("new secrets are 256 random bits in hex after the prefix", "[auth]") {
    std::set<std::string> seen;
    for (int i = 0; i < 50; ++i) {
        const std::string s = new_secret();
        CHECK(s.size() == 7 + 64);
        CHECK(s.rfind("invsys_", 0) == 0);
        CHECK(is_well_formed_secret(s));
        seen.insert(s);
    }
    CHECK(seen.size() == 50);
}

TEST_CASE("a secret is stored as its SHA-256 in hex", "[auth]") {
    // FIPS 180-2 test vector.
    CHECK(secret_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(secret_hash("invsys_x") != secret_hash("invsys_y"));
}

TEST_CASE("request ids are 1 to 64 safe characters", "[auth]") {
    CHECK(is_well_formed_request_id("a"));
    CHECK(is_well_formed_request_id("trace-0001.abc_DEF"));
    CHECK(is_well_formed_request_id(std::string(64, 'r')));
    CHECK_FALSE(is_well_formed_request_id(""));
    CHECK_FALSE(is_well_formed_request_id(std::string(65, 'r')));
    CHECK_FALSE(is_well_formed_request_id("has space"));
    CHECK_FALSE(is_well_formed_request_id("quo\"te"));
    CHECK_FALSE(is_well_formed_request_id("new\nline"));
    CHECK(new_request_id().size() == 32);
    CHECK(is_well_formed_request_id(new_request_id()));
}

TEST_CASE("the gateway's request id wins, then the client's, then a new one", "[auth][pipeline]") {
    http_request r;
    r.request_id = "from-nginx";
    r.headers = {{"x-request-id", "from-client"}};
    CHECK(request_id_of(r) == "from-nginx");
    r.request_id = "bad id";
    CHECK(request_id_of(r) == "from-client");
    r.headers = {{"x-request-id", "bad id"}};
    CHECK(request_id_of(r).size() == 32);
}

TEST_CASE("a problem body gets the request id as its last member", "[auth][pipeline]") {
    CHECK(with_request_id(R"({"status":404})", "rid") == R"({"status":404,"request_id":"rid"})");
    CHECK(with_request_id("{}", "rid") == R"({"request_id":"rid"})");
}

TEST_CASE("only force=true in a query asks for a forced delete", "[auth][pipeline]") {
    CHECK(asks_for_force("force=true"));
    CHECK(asks_for_force("a=1&force=true"));
    CHECK(asks_for_force("force=%74rue"));
    CHECK(asks_for_force("%66orce=true"));
    CHECK_FALSE(asks_for_force("force=false"));
    CHECK_FALSE(asks_for_force("force"));
    CHECK_FALSE(asks_for_force("force=TRUE"));
    CHECK_FALSE(asks_for_force("noforce=true"));
    CHECK_FALSE(asks_for_force(""));
}

TEST_CASE("roles are ordered reader < writer < admin", "[auth]") {
    CHECK(role_allows(role::admin, role::writer));
    CHECK(role_allows(role::writer, role::writer));
    CHECK_FALSE(role_allows(role::reader, role::writer));
    CHECK(role_allows(role::reader, role::anyone));
    CHECK(parse_key_role("writer") == role::writer);
    CHECK_FALSE(parse_key_role("anyone"));
    CHECK_FALSE(parse_key_role("Admin"));
}

TEST_CASE("a key body needs a name and a role, nothing else", "[auth][json]") {
    const auto input = decode_key_input(R"({"name":"ops","role":"admin"})");
    CHECK(*input.name == "ops");
    CHECK(*input.role == "admin");
    for (const char* bad :
         {R"({"name":"ops"})", R"({"role":"admin"})", R"({"name":null,"role":"x"})",
          R"({"name":"a","role":"b","key":"c"})", R"({"name":1,"role":"b"})", "[]",
          R"({"name":"a","name":"b","role":"c"})"}) {
        CAPTURE(bad);
        try {
            decode_key_input(bad);
            FAIL("accepted");
        } catch (const error& e) {
            CHECK(e.code() == error_code::invalid);
        }
    }
}

TEST_CASE("every byte is judged by the alphabets of tokens and request ids", "[auth]") {
    // b64token (RFC 6750): ALPHA DIGIT - . _ ~ + /, then '=' at the end
    // only; request ids: ALPHA DIGIT - . _ only.
    const std::string base(40, 'a');
    for (int b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        const bool id = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
                        (b >= '0' && b <= '9') || b == '-' || b == '.' || b == '_';
        const bool token = id || b == '~' || b == '+' || b == '/';
        INFO("byte " << b);
        CHECK(is_well_formed_request_id(base.substr(0, 8) + c + "x") == id);
        CHECK(is_well_formed_secret(base + c + "x") == token);
        CHECK(is_well_formed_secret(base + c + "==") == (token || b == '='));
    }
}
