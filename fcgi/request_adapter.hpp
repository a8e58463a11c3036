// FastCGI request ⇄ invsys::http_request / http_response.
#pragma once

#include <fcgiapp.h>
#include <sys/uio.h>

#include <boost/container/small_vector.hpp>
#include <cstddef>
#include <invsys/service.hpp>
#include <string>

namespace invsys::fcgi {

enum class read_outcome {
    complete,              // the whole body was read
    over_limit,            // max_body_bytes + 1 bytes kept, the rest drained
    over_limit_undrained,  // as over_limit, but the rest could not be drained:
                           // the connection must not be reused
    input_failed,          // the connection broke while reading: do not answer
};

// The request described by FastCGI parameters, without its body. `envp` is
// a null-terminated array of "NAME=value" strings (FCGX_Request::envp) or
// null; entries without '=' are ignored (nginx sends each name once):
//   method  = REQUEST_METHOD
//   path    = REQUEST_URI up to '?', query = after it
//   request_id = REQUEST_ID (the gateway's; checked by the service)
//   headers = every HTTP_* parameter (HTTP_IF_MATCH → "if-match"), plus
//             CONTENT_TYPE and CONTENT_LENGTH as "content-type" and
//             "content-length" when not empty (HTTP_CONTENT_TYPE and
//             HTTP_CONTENT_LENGTH are dropped: nginx passes both spellings)
// Pure: no I/O, so it can be tested and fuzzed without a socket.
invsys::http_request request_from_params(const char* const* envp);

// Fills `out` from the request's parameters (request_from_params) and stdin:
//   body    = stdin up to its end, but at most max_body_bytes + 1 bytes, so
//             that the service sees an oversized body and answers 413.
read_outcome read_request(FCGX_Request& request, std::size_t max_body_bytes,
                          invsys::http_request& out);

// "Status: 201 Created\r\nName: value\r\n…\r\n\r\nbody". Adds
// Content-Length when the response has none (never for 204 and 304, which
// carry no body; the body of those is dropped). CR and LF in header names
// or values become spaces: they must not split the header block.
std::string format_response(const invsys::http_response& response);

// The FastCGI records that answer request `request_id` with `response`:
// format_response(response) as FCGI_STDOUT records of at most 65535 bytes
// each (no padding), the empty FCGI_STDOUT record that ends stdout, and
// FCGI_END_REQUEST (FCGI_REQUEST_COMPLETE, `app_status`). `pieces` are to
// be written in order (one writev); they point into `frame` (record
// headers, the head, the ending) and into response.body, which is not
// copied: both must stay unchanged until the pieces are written.
struct response_records {
    std::string frame;
    boost::container::small_vector<iovec, 8> pieces;

    response_records() = default;
    response_records(const response_records&) = delete;
    response_records& operator=(const response_records&) = delete;
};
void build_response_records(int request_id, int app_status, const invsys::http_response& response,
                            response_records& out);

// Writes the response's records (build_response_records) to the
// connection in one writev, bypassing libfcgi's stdout stream, whose
// FCGX_Finish_r then writes nothing more; false when the peer is gone.
// Nothing may have been written to request.out or request.err before.
bool write_response(FCGX_Request& request, const invsys::http_response& response);

// Writes the response as the last one on its connection and closes the
// connection (the request's streams are released: no FCGX_Finish_r after
// it). The FCGI_END_REQUEST record goes out in one write together with an
// empty FCGI_STDERR record after it: nginx keeps an upstream connection
// for reuse only when FCGI_END_REQUEST ends what it read, so it closes this
// one itself instead of sending another request on it — which closing it
// from our side could never rule out (nginx may be writing that request at
// the very moment). False when the peer is gone; closed either way.
bool write_last_response(FCGX_Request& request, const invsys::http_response& response);

}  // namespace invsys::fcgi
