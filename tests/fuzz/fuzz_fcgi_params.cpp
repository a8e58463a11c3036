// The FastCGI parameter adapter, without a socket: the input, split at NUL
// bytes, is the parameter array ("NAME=value" entries) that libfcgi hands a
// worker. Checks what request_from_params promises, feeds the result to the
// router and the query parser as a worker would, and checks that
// format_response never lets a header name or value split the header block.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/query.hpp"
#include "api/router.hpp"
#include "error/error.hpp"
#include "fuzz_check.hpp"
#include "request_adapter.hpp"

using namespace invsys;

namespace {

bool is_header_param(std::string_view name) {
    if (name == "CONTENT_TYPE" || name == "CONTENT_LENGTH") return true;
    return name.size() > 5 && name.substr(0, 5) == "HTTP_" && name != "HTTP_CONTENT_TYPE" &&
           name != "HTTP_CONTENT_LENGTH";
}

void check_request(const std::vector<std::string>& entries, const http_request& request) {
    std::string method, path;
    std::size_t headers = 0;
    for (const auto& entry : entries) {
        const std::size_t equals = entry.find('=');
        if (equals == std::string::npos) continue;
        const std::string_view name = std::string_view(entry).substr(0, equals);
        const std::string_view value = std::string_view(entry).substr(equals + 1);
        if (name == "REQUEST_METHOD") method = value;
        if (name == "REQUEST_URI") path = value.substr(0, value.find('?'));
        if (is_header_param(name) && !(name.substr(0, 5) != "HTTP_" && value.empty())) ++headers;
    }
    FUZZ_CHECK(request.method == method);
    FUZZ_CHECK(request.path == path);
    FUZZ_CHECK(request.path.find('?') == std::string::npos);
    FUZZ_CHECK(request.headers.size() == headers);
    for (const auto& [name, value] : request.headers) {
        (void)value;
        for (const char c : name) FUZZ_CHECK(c != '_' && !(c >= 'A' && c <= 'Z'));
        FUZZ_CHECK(request.header(name) != nullptr);
    }
}

void check_response_block(const http_request& request, int status) {
    http_response response;
    response.status = status;
    response.headers = request.headers;
    response.body = request.query;
    const std::string text = fcgi::format_response(response);
    const std::size_t end = text.find("\r\n\r\n");
    FUZZ_CHECK(end != std::string::npos);
    // Status line, one line per header, maybe Content-Length: each ends in
    // CRLF, and no CR or LF appears anywhere else.
    std::size_t lines = 0;
    for (std::size_t i = 0; i < end + 2; ++i) {
        if (text[i] == '\r') {
            FUZZ_CHECK(text[i + 1] == '\n');
            ++lines;
            ++i;
        } else {
            FUZZ_CHECK(text[i] != '\n');
        }
    }
    const bool bodyless = status == 204 || status == 304;
    bool has_length = false;
    for (const auto& [name, value] : response.headers) {
        (void)value;
        if (name == "content-length") has_length = true;
    }
    const std::size_t expected = 1 + response.headers.size() + (!bodyless && !has_length ? 1 : 0);
    FUZZ_CHECK(lines == expected);
    FUZZ_CHECK(text.substr(end + 4) == (bodyless ? std::string() : response.body));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> entries;
    for (std::size_t start = 0; start <= input.size();) {
        std::size_t end = input.find('\0', start);
        if (end == std::string_view::npos) end = input.size();
        entries.emplace_back(input.substr(start, end - start));
        start = end + 1;
    }
    std::vector<const char*> envp;
    for (const auto& entry : entries) envp.push_back(entry.c_str());
    envp.push_back(nullptr);

    const http_request request = fcgi::request_from_params(envp.data());
    check_request(entries, request);
    check_response_block(request, size % 2 == 0 ? 200 : 204);

    try {
        (void)match_route(request.path);
    } catch (const error& e) {
        FUZZ_CHECK(e.code() == error_code::not_found);
    }
    try {
        const query_params query(request.query,
                                 {"from", "to", "allocation_type", "limit", "after"});
        (void)query.limit();
        (void)query.after();
        (void)query.timestamp("from");
    } catch (const error& e) {
        FUZZ_CHECK(e.code() == error_code::invalid);
    }
    (void)fcgi::request_from_params(nullptr);
    return 0;
}
