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
