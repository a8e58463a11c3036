// Whether nginx still waits for the answer to the request just read from a
// FastCGI connection. nginx gives up on a request (its 504, or the client
// went away) by closing the connection, or by an FCGI_ABORT_REQUEST
// record; a write still queued then (in the listen backlog, or waiting for
// a free thread) would be carried out for nobody — and a client that
// retries after the 504 would book twice. The worker checks just before
// it runs a write, and skips one nobody waits for (worker.cpp).
#pragma once

#include <string_view>

// True when the peer of `fd` has closed (or shut down its sending side),
// the connection has failed, or the next bytes waiting on it are an
// FCGI_ABORT_REQUEST. Never blocks, reads nothing.
bool fastcgi_request_abandoned(int fd) noexcept;

// The methods that change stored data (the ones worth skipping).
bool is_write_method(std::string_view method) noexcept;
