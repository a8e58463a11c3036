#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "request_adapter.hpp"

using namespace invsys;

namespace {

http_request from(std::vector<const char*> params) {
    params.push_back(nullptr);
    return fcgi::request_from_params(params.data());
}

using headers = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST_CASE("FastCGI parameters become the method, the path, the query and the headers", "[fcgi]") {
    struct row {
        const char* what;
        std::vector<const char*> params;
        std::string method, path, query;
        headers expected_headers;
    };
    const row rows[] = {
        {"a GET with a query",
         {"REQUEST_METHOD=GET", "REQUEST_URI=/api/cars?limit=10&after=x", "HTTP_HOST=h"},
         "GET",
         "/api/cars",
         "limit=10&after=x",
         {{"host", "h"}}},
        {"only the first '?' splits the URI",
         {"REQUEST_URI=/api/cars?a=1?b=2"},
         "",
         "/api/cars",
         "a=1?b=2",
         {}},
        {"a URI of only '?'", {"REQUEST_URI=?"}, "", "", "", {}},
        {"HTTP_ names become lower-case header names with dashes",
         {"HTTP_IF_MATCH=\"3\"", "HTTP_IDEMPOTENCY_KEY=k", "HTTP_X_A_B=v=w"},
         "",
         "",
         "",
         {{"if-match", "\"3\""}, {"idempotency-key", "k"}, {"x-a-b", "v=w"}}},
        {"content type and length are kept once, and only when not empty",
         {"CONTENT_TYPE=application/json", "CONTENT_LENGTH=", "HTTP_CONTENT_TYPE=application/json",
          "HTTP_CONTENT_LENGTH=5"},
         "",
         "",
         "",
         {{"content-type", "application/json"}}},
        {"entries without '=' and other parameters are ignored",
         {"NOEQUALS", "HTTP_", "HTTP_=x", "SCRIPT_NAME=/api", "QUERY_STRING=a=1", "=",
          "REQUEST_METHOD="},
         "",
         "",
         "",
         {}},
        {"CR and LF in a value are passed on for the service to judge",
         {"HTTP_X=a\r\nInjected: 1"},
         "",
         "",
         "",
         {{"x", "a\r\nInjected: 1"}}},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        const http_request request = from(r.params);
        CHECK(request.method == r.method);
        CHECK(request.path == r.path);
        CHECK(request.query == r.query);
        CHECK(request.headers == r.expected_headers);
        CHECK(request.body.empty());
    }
}

TEST_CASE("no FastCGI parameters at all make an empty request", "[fcgi]") {
    const http_request request = fcgi::request_from_params(nullptr);
    CHECK(request.method.empty());
    CHECK(request.path.empty());
    CHECK(request.headers.empty());
}

namespace {

struct parsed_records {
    std::string stdout_content;        // every FCGI_STDOUT record's content, in order
    std::vector<std::size_t> lengths;  // of the non-empty FCGI_STDOUT records
    bool ended_stdout = false;         // an empty FCGI_STDOUT record came
    int app_status = -1;               // from FCGI_END_REQUEST
    int protocol_status = -1;
    bool anything_after_end = false;
    bool well_formed = true;  // version 1, the request's id, no padding
};

// Reads back what build_response_records' pieces would put on the wire.
parsed_records parse(const fcgi::response_records& records, int request_id) {
    std::string wire;
    for (const iovec& piece : records.pieces)
        wire.append(static_cast<const char*>(piece.iov_base), piece.iov_len);
    parsed_records out;
    std::size_t at = 0;
    bool ended = false;
    while (at + 8 <= wire.size()) {
        const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(wire[at + i]); };
        if (ended) out.anything_after_end = true;
        const int type = byte(1);
        const int id = byte(2) << 8 | byte(3);
        const std::size_t length = static_cast<std::size_t>(byte(4) << 8 | byte(5));
        if (byte(0) != 1 || id != request_id || byte(6) != 0 || at + 8 + length > wire.size()) {
            out.well_formed = false;
            break;
        }
        const std::string content = wire.substr(at + 8, length);
        if (type == 6 && length == 0) {
            out.ended_stdout = true;
        } else if (type == 6) {
            if (out.ended_stdout) out.well_formed = false;
            out.stdout_content += content;
            out.lengths.push_back(length);
        } else if (type == 3 && length == 8) {
            const auto b = [&](std::size_t i) { return static_cast<unsigned char>(content[i]); };
            out.app_status = static_cast<int>(b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3));
            out.protocol_status = b(4);
            ended = true;
        } else {
            out.well_formed = false;
        }
        at += 8 + length;
    }
    if (at != wire.size()) out.well_formed = false;
    return out;
}

}  // namespace

TEST_CASE("a response is written as FastCGI records: stdout, its end, then the end of the request",
          "[fcgi]") {
    struct row {
        const char* what;
        http_response response;
    };
    http_response small;
    small.status = 200;
    small.headers = {{"Content-Type", "application/json"}, {"ETag", "\"1\""}};
    small.body = R"({"id":"x"})";
    http_response empty_body = small;
    empty_body.status = 204;  // its body is dropped
    http_response large = small;
    large.body.assign(200000, 'b');
    large.body[65535] = 'X';  // ends up in the second record, after the head
    http_response long_head;
    long_head.status = 200;
    long_head.headers = {{"X-Long", std::string(70000, 'h')}};
    long_head.body = "tail";
    const row rows[] = {
        {"a small answer is one record", small},
        {"a bodyless status drops the body", empty_body},
        {"a large body is cut into records of at most 65535 bytes", large},
        {"a head longer than one record is cut too", long_head},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        for (const int id : {1, 258, 65535}) {
            fcgi::response_records records;
            fcgi::build_response_records(id, 7, r.response, records);
            const parsed_records parsed = parse(records, id);
            CHECK(parsed.well_formed);
            CHECK(parsed.stdout_content == fcgi::format_response(r.response));
            CHECK(parsed.ended_stdout);
            CHECK(parsed.app_status == 7);
            CHECK(parsed.protocol_status == 0);  // FCGI_REQUEST_COMPLETE
            CHECK_FALSE(parsed.anything_after_end);
            REQUIRE_FALSE(parsed.lengths.empty());
            // Full records but the last.
            for (std::size_t i = 0; i + 1 < parsed.lengths.size(); ++i)
                CHECK(parsed.lengths[i] == 65535);
            CHECK(parsed.lengths.back() <= 65535);
            const std::size_t total = parsed.stdout_content.size();
            CHECK(parsed.lengths.size() == (total + 65534) / 65535);
        }
    }
}

TEST_CASE("the body is written from where it lies, not copied", "[fcgi]") {
    http_response response;
    response.status = 200;
    response.body.assign(100000, 'b');
    fcgi::response_records records;
    fcgi::build_response_records(1, 0, response, records);
    std::size_t from_body = 0;
    for (const iovec& piece : records.pieces) {
        const char* p = static_cast<const char*>(piece.iov_base);
        if (p >= response.body.data() && p < response.body.data() + response.body.size())
            from_body += piece.iov_len;
    }
    CHECK(from_body == response.body.size());
    CHECK(records.frame.size() < 256);
}

TEST_CASE("CR and LF in a response header become spaces: no header can be injected", "[fcgi]") {
    invsys::http_response response;
    response.status = 200;
    response.headers = {{"X-A\r\nInjected", "1"},
                        {"Location", "/a\r\nSet-Cookie: x=1\n\r"},
                        {"X-Plain", "kept as it is"}};
    response.body = "{}";
    CHECK(fcgi::format_response(response) ==
          "Status: 200 OK\r\nX-A  Injected: 1\r\nLocation: /a  Set-Cookie: x=1  \r\n"
          "X-Plain: kept as it is\r\nContent-Length: 2\r\n\r\n{}");
}
