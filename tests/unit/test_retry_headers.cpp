// The header parsers and fingerprints behind safe retries: If-Match,
// Idempotency-Key, the canonical JSON of a body, SHA-256, stored answers.
#include <catch2/catch.hpp>
#include <string>

#include "api/etag.hpp"
#include "api/idempotency.hpp"
#include "error/error.hpp"
#include "json/codec.hpp"
#include "util/sha256.hpp"

using namespace invsys;

namespace {

bool refused(std::string_view if_match) {
    try {
        parse_if_match(if_match);
    } catch (const error& e) {
        return e.code() == error_code::invalid && !e.errors.empty() &&
               e.errors[0].field == "If-Match";
    }
    return false;
}

http_request post(std::string path, std::string body) {
    http_request r;
    r.method = "POST";
    r.path = std::move(path);
    r.body = std::move(body);
    return r;
}

}  // namespace

TEST_CASE("an ETag is the row version in quotes", "[etag]") {
    CHECK(etag_of(1) == "\"1\"");
    CHECK(etag_of(42) == "\"42\"");
}

TEST_CASE("If-Match * matches any version, alone and with white space", "[etag]") {
    CHECK(parse_if_match("*").any);
    CHECK(parse_if_match("  *\t").any);
    CHECK(refused("*, \"1\""));
    CHECK(refused("\"1\", *"));
}

TEST_CASE("If-Match lists strong tags, and weak or foreign tags match nothing", "[etag]") {
    const version_condition c = parse_if_match(R"("3", W/"4" ,"x", "007",, "5")");
    CHECK_FALSE(c.any);
    CHECK(c.holds(3));
    CHECK(c.holds(5));
    CHECK_FALSE(c.holds(4));  // weak: strong comparison never matches it
    CHECK_FALSE(c.holds(7));  // not our spelling of 7
    CHECK_FALSE(parse_if_match(R"(W/"1")").holds(1));
    CHECK_FALSE(parse_if_match(R"("99999999999999999999")").holds(1));
    CHECK(parse_if_match(R"("-1", "+1")").versions.empty());  // a fuzz finding: a sign is no digit
    CHECK(parse_if_match(R"("")").versions.empty());
}

TEST_CASE("a malformed If-Match is refused naming the header", "[etag]") {
    for (const char* bad : {"", " ", ",", "3", "\"3", "\"3\" \"4\"", "W/3", "w/\"3\"", "\"a\"b\"",
                            "\"3\";", "**", "\"\x7f\""}) {
        INFO(bad);
        CHECK(refused(bad));
    }
}

TEST_CASE("an Idempotency-Key is 1-255 characters of printable ASCII", "[idempotency]") {
    CHECK_NOTHROW(check_idempotency_key("a"));
    CHECK_NOTHROW(check_idempotency_key("8e03978e-40d5-43e8-bc93-6894a57f9324"));
    CHECK_NOTHROW(check_idempotency_key("with space ~!\"#"));
    CHECK_NOTHROW(check_idempotency_key(std::string(255, 'k')));
    for (const std::string& bad :
         {std::string(), std::string(256, 'k'), std::string("tab\there"), std::string("nul\0", 4),
          std::string("caf\xc3\xa9"), std::string("del\x7f")}) {
        INFO(bad);
        const error e = [&] {
            try {
                check_idempotency_key(bad);
            } catch (const error& caught) {
                return caught;
            }
            return error(error_code::internal, "accepted");
        }();
        CHECK(e.code() == error_code::invalid);
        REQUIRE(e.errors.size() == 1);
        CHECK(e.errors[0].field == "Idempotency-Key");
    }
}

TEST_CASE("JSON-equal bodies have one canonical text, numbers staying as written",
          "[idempotency]") {
    CHECK(canonical_json(R"( {"b": [1, {"y":true,"x":null}], "a":"\u00e9"} )") ==
          std::optional<std::string>(R"({"a":"é","b":[1,{"x":null,"y":true}]})"));
    CHECK(canonical_json(R"({"n":1.0})") != canonical_json(R"({"n":1})"));
    CHECK(canonical_json(R"({"n":1e400})") == std::optional<std::string>(R"({"n":1e400})"));
    CHECK(canonical_json(R"({"a":1,"a":2})") != canonical_json(R"({"a":2,"a":1})"));
    CHECK_FALSE(canonical_json("{"));
    CHECK_FALSE(canonical_json(std::string(70, '[') + std::string(70, ']')));
}

TEST_CASE("a request's fingerprint is its method, path and JSON-equal body", "[idempotency]") {
    const std::string base =
        request_fingerprint(post("/api/cars", R"({"name":"A","attributes":{}})"));
    CHECK(base.size() == 64);
    CHECK(request_fingerprint(post("/api/cars", "{ \"attributes\" : {}, \"name\" : \"A\" }")) ==
          base);
    CHECK(request_fingerprint(post("/api/cars", R"({"name":"B","attributes":{}})")) != base);
    CHECK(request_fingerprint(post("/api/lorries", R"({"name":"A","attributes":{}})")) != base);
    http_request patch = post("/api/cars", R"({"name":"A","attributes":{}})");
    patch.method = "PATCH";
    CHECK(request_fingerprint(patch) != base);
    // Not JSON: its bytes, never equal to a JSON body's canonical text.
    CHECK(request_fingerprint(post("/api/cars", "{")) ==
          request_fingerprint(post("/api/cars", "{")));
    CHECK(request_fingerprint(post("/api/cars", "{")) !=
          request_fingerprint(post("/api/cars", "{ ")));
}

TEST_CASE("SHA-256 gives the FIPS 180-4 test vectors", "[idempotency]") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex(std::string(1000000, 'a')) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("an answer is stored with its headers and comes back the same", "[idempotency]") {
    http_response r;
    r.status = 201;
    r.headers = {
        {"Content-Type", "application/json"}, {"ETag", "\"1\""}, {"Location", "/api/cars/x"}};
    r.body = R"({"id":"x"})";
    const http_response back = from_stored_answer(to_stored_answer(r));
    CHECK(back.status == 201);
    CHECK(back.headers == r.headers);
    CHECK(back.body == r.body);
}
