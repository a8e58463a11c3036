#include "api/idempotency.hpp"

#include <invsys/log.hpp>
#include <invsys/metrics.hpp>

#include "api/http.hpp"
#include "json/codec.hpp"
#include "time/timestamp.hpp"
#include "util/sha256.hpp"
#include "util/uuid.hpp"

namespace invsys {
namespace {

// How long a claim holds without an answer: the handler is killed after
// the request timeout, and its transaction dies with it.
std::int64_t lease_us(const config& cfg) {
    const std::int64_t timeout_s = cfg.request_timeout_s > 0 ? cfg.request_timeout_s : 30;
    return (timeout_s + 2) * 1'000'000;
}

http_response in_flight_answer() {
    http_response r = problem_response(
        error(error_code::conflict,
              "a request with this Idempotency-Key is still in flight: retry it later"));
    r.headers.emplace_back("Retry-After", "1");
    return r;
}

// Gives the claim up; should that fail too, its lease runs out.
void release(store& db, const idempotency_claim& claim) noexcept {
    try {
        db.release_idempotency_key(claim.scope, claim.key, claim.owner);
    } catch (...) {
        log_warn("idempotency: an Idempotency-Key claim was not released (it expires)");
    }
}

}  // namespace

// Keys are per API key: one client's key never replays another's answer.
// The authorize stage runs before this one, so a caller is always there on
// a POST; "" only for a route open to anyone (none takes POST today).
std::string idempotency_scope(const api_call& call) {
    return call.caller ? call.caller->id : std::string();
}

void check_idempotency_key(std::string_view key) {
    if (key.empty() || key.size() > max_idempotency_key_length)
        throw invalid_field("Idempotency-Key", "must be 1-255 characters");
    for (unsigned char c : key) {
        if (c < 0x20 || c > 0x7e)
            throw invalid_field("Idempotency-Key", "must be printable ASCII (U+0020-U+007E)");
    }
}

std::string request_fingerprint(const http_request& request) {
    std::string text = request.method;
    text.append("\n").append(request.path).append("\n");
    if (auto canonical = canonical_json(request.body)) {
        text.append("json\n").append(*canonical);
    } else {
        text.append("raw\n").append(request.body);
    }
    return sha256_hex(text);
}

stored_answer to_stored_answer(const http_response& response) {
    stored_answer answer;
    answer.status = response.status;
    for (const auto& [name, value] : response.headers)
        answer.headers.append(name).append(": ").append(value).append("\n");
    answer.body = response.body;
    return answer;
}

http_response from_stored_answer(const stored_answer& answer) {
    http_response response;
    response.status = answer.status;
    std::string_view lines = answer.headers;
    while (!lines.empty()) {
        const std::size_t end = lines.find('\n');
        const std::string_view line = lines.substr(0, end);
        lines = end == std::string_view::npos ? std::string_view() : lines.substr(end + 1);
        const std::size_t colon = line.find(": ");
        if (colon == std::string_view::npos) continue;
        response.headers.emplace_back(std::string(line.substr(0, colon)),
                                      std::string(line.substr(colon + 2)));
    }
    response.body = answer.body;
    return response;
}

http_response replay_idempotent(api_call& call, const next_stage& next) {
    const http_request& request = call.request;
    const std::string* key = request.method == "POST" ? request.header("idempotency-key") : nullptr;
    if (key == nullptr) return next(call);
    check_idempotency_key(*key);

    store& db = call.ctx.db;
    idempotency_claim claim;
    claim.scope = idempotency_scope(call);
    claim.key = *key;
    claim.fingerprint = request_fingerprint(request);
    claim.owner = new_uuid();
    claim.now_us = now_micros();
    claim.lease_until_us = claim.now_us + lease_us(call.ctx.cfg);
    claim.forget_before_us = claim.now_us - idempotency_retention_us;

    const claim_outcome outcome = db.claim_idempotency_key(claim);
    switch (outcome.result) {
        case claim_result::answered: {
            http_response replayed = from_stored_answer(outcome.answer);
            replayed.headers.emplace_back("Idempotent-Replayed", "true");
            metrics::count_idempotent_replay();
            return replayed;
        }
        case claim_result::other_request:
            throw error(error_code::unprocessable,
                        "this Idempotency-Key was used for another request (method, path or body)");
        case claim_result::in_flight:
            return in_flight_answer();
        case claim_result::claimed:
            break;
    }

    http_response response;
    bool completing = false;
    try {
        db.in_one_transaction("idempotent request", [&] {
            completing = false;
            response = next(call);
            if (response.status >= 500) return;
            completing = true;
            db.complete_idempotency_key(claim.scope, claim.key, claim.owner,
                                        to_stored_answer(response));
        });
    } catch (const error& failure) {
        // Nothing of this request was kept. A 5xx gives the claim up
        // (release touches only an unanswered claim of ours).
        response = problem_response(failure);
        if (response.status >= 500) {
            release(db, claim);
            throw;
        }
        // Completing was refused: a retry has taken the claim over.
        if (completing) throw;
        // The request was refused (400, 404, 409 …) and wrote nothing: its
        // answer is remembered on its own.
        db.complete_idempotency_key(claim.scope, claim.key, claim.owner,
                                    to_stored_answer(response));
        return response;
    } catch (...) {
        release(db, claim);
        throw;
    }
    if (response.status >= 500) release(db, claim);
    return response;
}

}  // namespace invsys
