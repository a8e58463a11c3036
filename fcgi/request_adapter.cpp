#include "request_adapter.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <invsys/http_status.hpp>
#include <string_view>

namespace invsys::fcgi {
namespace {

// nginx already caps request bodies (client_max_body_size); this bounds the
// work of draining an oversized body that reached us some other way.
constexpr std::size_t max_drain_bytes = 64 * 1024 * 1024;

// ASCII only, as std::tolower in the "C" locale the process runs in, but
// without a library call per character.
char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string header_name_from_param(std::string_view param) {
    std::string name(param);
    for (char& c : name) c = c == '_' ? '-' : ascii_lower(c);
    return name;
}

bool has_header(const invsys::http_response& response, std::string_view lower_name) {
    return std::any_of(response.headers.begin(), response.headers.end(), [&](const auto& h) {
        return h.first.size() == lower_name.size() &&
               std::equal(h.first.begin(), h.first.end(), lower_name.begin(),
                          [](char a, char b) { return ascii_lower(a) == b; });
    });
}

// Appended whole, then masked in place where memchr (vectorised) finds a
// CR or LF: a character at a time through operator+= cost more than the
// rest of writing the head, and a header rarely holds either.
void append_sanitized(std::string& out, std::string_view text) {
    const std::size_t at = out.size();
    out.append(text);
    for (const char breaking : {'\r', '\n'}) {
        char* const end = out.data() + out.size();
        for (char* p = out.data() + at;
             (p = static_cast<char*>(std::memchr(p, breaking, static_cast<std::size_t>(end - p))));)
            *p++ = ' ';
    }
}

}  // namespace

invsys::http_request request_from_params(const char* const* envp) {
    invsys::http_request out;
    // nginx passes a dozen headers or so: one allocation, not four growths.
    out.headers.reserve(16);
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

namespace {

constexpr unsigned char fcgi_version = 1;
constexpr unsigned char fcgi_end_request = 3;
constexpr unsigned char fcgi_stdout = 6;
constexpr unsigned char fcgi_stderr = 7;
constexpr std::size_t fcgi_max_content = 65535;
constexpr std::size_t fcgi_header_size = 8;
// The end of stdout (an empty record) and FCGI_END_REQUEST (header, body).
constexpr std::size_t ending_size = 3 * fcgi_header_size;

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

// Appends the response's head, "Status: …\r\n" to the blank line, to `out`.
void append_head(std::string& out, const invsys::http_response& response) {
    const bool bodyless = response.status == 204 || response.status == 304;
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
}

std::size_t head_size_estimate(const invsys::http_response& response) {
    std::size_t size = 128;  // the status line, Content-Length, the blank line
    for (const auto& [name, value] : response.headers) size += name.size() + value.size() + 4;
    return size;
}

void append_end_request(std::string& out, int request_id, int app_status) {
    append_record_header(out, fcgi_end_request, request_id, 8);
    const unsigned char body[8] = {static_cast<unsigned char>((app_status >> 24) & 0xff),
                                   static_cast<unsigned char>((app_status >> 16) & 0xff),
                                   static_cast<unsigned char>((app_status >> 8) & 0xff),
                                   static_cast<unsigned char>(app_status & 0xff),
                                   0,  // FCGI_REQUEST_COMPLETE
                                   0,
                                   0,
                                   0};
    out.append(reinterpret_cast<const char*>(body), sizeof body);
}

// Writes every piece, in order, however the kernel splits the writes.
bool write_all_pieces(int fd, iovec* pieces, std::size_t count) {
    while (count > 0) {
        const int batch = static_cast<int>(std::min<std::size_t>(count, IOV_MAX));
        const ssize_t n = ::writev(fd, pieces, batch);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        auto left = static_cast<std::size_t>(n);
        while (count > 0 && left >= pieces->iov_len) {
            left -= pieces->iov_len;
            ++pieces;
            --count;
        }
        if (count > 0) {
            pieces->iov_base = static_cast<char*>(pieces->iov_base) + left;
            pieces->iov_len -= left;
        }
    }
    return true;
}

}  // namespace

std::string format_response(const invsys::http_response& response) {
    const bool bodyless = response.status == 204 || response.status == 304;
    std::string out;
    out.reserve(head_size_estimate(response) + (bodyless ? 0 : response.body.size()));
    append_head(out, response);
    if (!bodyless) out += response.body;
    return out;
}

void build_response_records(int request_id, int app_status, const invsys::http_response& response,
                            response_records& out) {
    const bool bodyless = response.status == 204 || response.status == 304;
    const std::string_view body = bodyless ? std::string_view() : std::string_view(response.body);
    std::string& frame = out.frame;
    frame.clear();
    out.pieces.clear();
    // The head, then one record header for each further 65535 bytes of
    // body (the head fits the first record unless a header is absurdly
    // long: then the head is cut like the body), then the ending: all in
    // `frame`, sized first, so that the pieces' pointers into it stay put.
    const std::size_t estimate = fcgi_header_size + head_size_estimate(response);
    frame.reserve(estimate + (estimate + body.size()) / fcgi_max_content * fcgi_header_size +
                  ending_size);
    append_record_header(frame, fcgi_stdout, request_id, 0);  // its length below
    append_head(frame, response);
    const std::size_t head_end = frame.size();
    const std::size_t content = head_end - fcgi_header_size + body.size();
    const std::size_t records =
        content == 0 ? 0 : (content + fcgi_max_content - 1) / fcgi_max_content;
    frame.reserve(head_end + records * fcgi_header_size + ending_size);

    // Cuts [head, body] into records of at most fcgi_max_content bytes.
    const std::string_view spans[2] = {
        std::string_view(frame).substr(fcgi_header_size, head_end - fcgi_header_size), body};
    std::size_t span = 0, offset = 0;
    for (std::size_t record = 0; record < records; ++record) {
        const std::size_t length = std::min(fcgi_max_content, content - record * fcgi_max_content);
        if (record == 0) {
            frame[4] = static_cast<char>((length >> 8) & 0xff);
            frame[5] = static_cast<char>(length & 0xff);
            out.pieces.push_back({frame.data(), fcgi_header_size});
        } else {
            const std::size_t at = frame.size();
            append_record_header(frame, fcgi_stdout, request_id, length);
            out.pieces.push_back({frame.data() + at, fcgi_header_size});
        }
        for (std::size_t left = length; left > 0;) {
            while (offset == spans[span].size()) {
                ++span;
                offset = 0;
            }
            const std::size_t n = std::min(left, spans[span].size() - offset);
            out.pieces.push_back({const_cast<char*>(spans[span].data() + offset), n});
            offset += n;
            left -= n;
        }
    }
    const std::size_t ending = frame.size();
    append_record_header(frame, fcgi_stdout, request_id, 0);  // end of stdout
    append_end_request(frame, request_id, app_status);
    out.pieces.push_back({frame.data() + ending, frame.size() - ending});
}

bool write_response(FCGX_Request& request, const invsys::http_response& response) {
    // Straight to the connection in one writev, not through libfcgi's
    // stdout stream: that copies everything into an 8 KiB buffer and
    // writes it out 8 KiB at a time (a page of 100 cars was three writes).
    response_records records;
    build_response_records(request.requestId, request.appStatus, response, records);
    const bool delivered =
        write_all_pieces(request.ipcFd, records.pieces.data(), records.pieces.size());
    // Everything libfcgi would write at FCGX_Finish_r went out above (the
    // end of stdout, FCGI_END_REQUEST): its stdout stream is left closed
    // as FCGX_FClose leaves it, minus the write. Its stderr stream, never
    // written, then writes nothing either (libfcgi 2.4 WriteCloseRecords:
    // no end record for an empty stderr, FCGI_END_REQUEST from the last
    // writer only, which stdout now never is).
    FCGX_Stream* out = request.out;
    out->wasFCloseCalled = 1;
    out->isClosed = 1;
    out->rdNext = out->stop = out->wrNext;
    if (!delivered && out->FCGI_errno == 0) out->FCGI_errno = errno != 0 ? errno : EPIPE;
    return delivered;
}

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
    append_end_request(ending, request.requestId, request.appStatus);
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
