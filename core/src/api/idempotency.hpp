// Safe retries of POST: the Idempotency-Key stage (docs/api.md, "Safe
// retries and concurrency control").
//
// A POST with `Idempotency-Key: <key>` (1-255 printable ASCII characters)
// first claims (scope, key) in a transaction of its own, committed before
// the handler runs, so that every worker process sees the claim:
//
//   the same request answered before   its answer again, with
//                                      Idempotent-Replayed: true
//   another request (method, path or   422
//   JSON-equal body differ)
//   the same request still in flight   409, Retry-After: 1
//   none of these                      the handler runs, and its answer is
//                                      recorded in the transaction of what
//                                      it wrote (store::in_one_transaction)
//
// A 5xx is not recorded: the claim is released and a retry runs afresh. A
// claim not answered within its lease (the request timeout and a margin:
// its worker was killed) passes to the next retry; should the first
// request still finish after that, its transaction finds the claim gone
// and rolls back, so nothing is created twice whatever the timing. Keys
// are remembered idempotency_retention_us, purged a few per claim.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/pipeline.hpp"

namespace invsys {

inline constexpr std::int64_t idempotency_retention_us = 24LL * 3600 * 1'000'000;
inline constexpr std::size_t max_idempotency_key_length = 255;

// The stage, after route_request (and after authentication, once keys
// exist: the scope is the caller's key).
http_response replay_idempotent(api_call& call, const next_stage& next);

// Whose keys these are: one namespace of keys per API key once keys exist.
// The only place the scope comes from; "" today.
std::string idempotency_scope(const api_call& call);

// Throws error(invalid), field "Idempotency-Key", unless `key` is 1-255
// characters of printable ASCII (U+0020-U+007E).
void check_idempotency_key(std::string_view key);

// SHA-256 of the method, the path and the body's canonical JSON (the raw
// bytes when the body is not JSON): equal for the same request.
std::string request_fingerprint(const http_request& request);

// An answer as the store keeps it, and back.
stored_answer to_stored_answer(const http_response& response);
http_response from_stored_answer(const stored_answer& answer);

}  // namespace invsys
