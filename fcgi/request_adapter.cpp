#include "request_adapter.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <invsys/http_status.hpp>
#include <string_view>

namespace invsys::fcgi {
namespace {

// nginx already caps request bodies (client_max_body_size); this bounds the
// work of draining an oversized body that reached us some other way.
constexpr std::size_t max_drain_bytes = 64 * 1024 * 1024;

std::string header_name_from_param(std::string_view param) {
    std::string name(param);
    for (char& c : name) {
        c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return name;
}

bool has_header(const invsys::http_response& response, std::string_view lower_name) {
    return std::any_of(response.headers.begin(), response.headers.end(), [&](const auto& h) {
        return h.first.size() == lower_name.size() &&
               std::equal(h.first.begin(), h.first.end(), lower_name.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == b;
               });
    });
}

void append_sanitized(std::string& out, std::string_view text) {
    for (const char c : text) out += (c == '\r' || c == '\n') ? ' ' : c;
}

}  // namespace

invsys::http_request request_from_params(const char* const* envp) {
    invsys::http_request out;
    for (const char* const* param = envp; param != nullptr && *param != nullptr; ++param) {
        const std::string_view entry(*param);
        const auto equals = entry.find('=');
        if (equals == std::string_view::npos) continue;
        const std::string_view name = entry.substr(0, equals);
        const std::string_view value = entry.substr(equals + 1);
        if (name == "REQUEST_METHOD") {
            out.method = value;
        } else if (name == "REQUEST_URI") {
            const auto question = value.find('?');
            out.path = value.substr(0, question);
            if (question != std::string_view::npos) out.query = value.substr(question + 1);
        } else if (name == "REQUEST_ID") {
            out.request_id = value;
        } else if (name == "CONTENT_TYPE" || name == "CONTENT_LENGTH") {
            if (!value.empty()) out.headers.emplace_back(header_name_from_param(name), value);
        } else if (name.size() > 5 && name.substr(0, 5) == "HTTP_") {
            // nginx passes Content-Type/-Length both ways; keep one copy.
            if (name == "HTTP_CONTENT_TYPE" || name == "HTTP_CONTENT_LENGTH") continue;
            out.headers.emplace_back(header_name_from_param(name.substr(5)), value);
        }
    }
    return out;
}

read_outcome read_request(FCGX_Request& request, std::size_t max_body_bytes,
                          invsys::http_request& out) {
    out = request_from_params(request.envp);

    // Read to the end of stdin rather than trusting CONTENT_LENGTH, which a
    // chunked request may not have; it only sizes the buffer.
    const std::size_t limit = max_body_bytes + 1;
    if (const std::string* length = out.header("content-length")) {
        std::size_t expected = 0;
        const auto [end, ec] =
            std::from_chars(length->data(), length->data() + length->size(), expected);
        if (ec == std::errc() && end == length->data() + length->size())
            out.body.reserve(std::min(expected, limit));
    }
    // Through a buffer on the stack, not by growing the body and reading
    // into it: resize() would allocate and zero a whole chunk first, which
    // for the bodyless GETs that make most requests was most of the
    // worker's work per request (64 KiB cleared, allocated and freed).
    char chunk[16 * 1024];
    while (out.body.size() < limit) {
        const int want = static_cast<int>(std::min(sizeof chunk, limit - out.body.size()));
        const int got = FCGX_GetStr(chunk, want, request.in);
        if (got > 0) out.body.append(chunk, static_cast<std::size_t>(got));
        if (got < want) break;
    }
    if (FCGX_GetError(request.in) != 0) return read_outcome::input_failed;
    if (out.body.size() < limit) return read_outcome::complete;

    // Oversized: drain the rest so the kept-alive connection is back at a
    // record boundary for the next request.
    std::size_t drained = 0;
    for (;;) {
        const int got = FCGX_GetStr(chunk, sizeof chunk, request.in);
        if (got <= 0) break;
        drained += static_cast<std::size_t>(got);
        if (drained > max_drain_bytes) return read_outcome::over_limit_undrained;
    }
    if (FCGX_GetError(request.in) != 0) return read_outcome::input_failed;
    return read_outcome::over_limit;
}

std::string format_response(const invsys::http_response& response) {
    const bool bodyless = response.status == 204 || response.status == 304;
    std::string out;
    out.reserve(128 + response.body.size() + response.headers.size() * 48);
    out += "Status: ";
    out += std::to_string(response.status);
    out += ' ';
    out += invsys::http_reason_phrase(response.status);
    out += "\r\n";
    for (const auto& [name, value] : response.headers) {
        append_sanitized(out, name);
        out += ": ";
        append_sanitized(out, value);
        out += "\r\n";
    }
    if (!bodyless && !has_header(response, "content-length")) {
        out += "Content-Length: ";
        out += std::to_string(response.body.size());
        out += "\r\n";
    }
    out += "\r\n";
    if (!bodyless) out += response.body;
    return out;
}

bool write_response(FCGX_Request& request, const invsys::http_response& response) {
    const std::string text = format_response(response);
    std::size_t offset = 0;
    while (offset < text.size()) {
        const int n = static_cast<int>(std::min<std::size_t>(text.size() - offset, 1 << 30));
        if (FCGX_PutStr(text.data() + offset, n, request.out) != n) return false;
        offset += static_cast<std::size_t>(n);
    }
    return true;
}

namespace {

constexpr unsigned char fcgi_version = 1;
constexpr unsigned char fcgi_end_request = 3;
constexpr unsigned char fcgi_stdout = 6;
constexpr unsigned char fcgi_stderr = 7;
constexpr std::size_t fcgi_max_content = 65535;

void append_record_header(std::string& out, unsigned char type, int request_id,
                          std::size_t content_length) {
    const unsigned char header[8] = {fcgi_version,
                                     type,
                                     static_cast<unsigned char>((request_id >> 8) & 0xff),
                                     static_cast<unsigned char>(request_id & 0xff),
                                     static_cast<unsigned char>((content_length >> 8) & 0xff),
                                     static_cast<unsigned char>(content_length & 0xff),
                                     0,
                                     0};
    out.append(reinterpret_cast<const char*>(header), sizeof header);
}

bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

bool write_last_response(FCGX_Request& request, const invsys::http_response& response) {
    const std::string text = format_response(response);
    std::string records;
    records.reserve(text.size() + (text.size() / fcgi_max_content + 2) * 8);
    for (std::size_t offset = 0; offset < text.size(); offset += fcgi_max_content) {
        const std::size_t n = std::min(fcgi_max_content, text.size() - offset);
        append_record_header(records, fcgi_stdout, request.requestId, n);
        records.append(text, offset, n);
    }
    append_record_header(records, fcgi_stdout, request.requestId, 0);  // end of stdout

    std::string ending;
    append_record_header(ending, fcgi_end_request, request.requestId, 8);
    const int status = request.appStatus;
    const unsigned char body[8] = {static_cast<unsigned char>((status >> 24) & 0xff),
                                   static_cast<unsigned char>((status >> 16) & 0xff),
                                   static_cast<unsigned char>((status >> 8) & 0xff),
                                   static_cast<unsigned char>(status & 0xff),
                                   0,  // FCGI_REQUEST_COMPLETE
                                   0,
                                   0,
                                   0};
    ending.append(reinterpret_cast<const char*>(body), sizeof body);
    append_record_header(ending, fcgi_stderr, request.requestId, 0);

    // Nothing went through libfcgi's output streams, so releasing them
    // writes nothing; the ending is one small write, which nginx reads
    // whole.
    const bool delivered = write_all(request.ipcFd, records.data(), records.size()) &&
                           write_all(request.ipcFd, ending.data(), ending.size());
    // close = 1: shutdown(SHUT_WR), then libfcgi reads until nginx closes
    // its end (at most 2 s), then close().
    FCGX_Free(&request, 1);
    return delivered;
}

}  // namespace invsys::fcgi
