#include "api/pipeline.hpp"

#include <array>
#include <chrono>
#include <invsys/log.hpp>
#include <invsys/metrics.hpp>
#include <new>

#include "api/http.hpp"
#include "api/idempotency.hpp"
#include "api/router.hpp"
#include "audit/audit.hpp"
#include "audit/retention.hpp"
#include "auth/credentials.hpp"
#include "error/error.hpp"
#include "json/codec.hpp"
#include "time/timestamp.hpp"
#include "util/process_id.hpp"
#include "util/text.hpp"

namespace invsys {
namespace {

// replay_idempotent comes after authorize: a key's answers are replayed
// only to a caller allowed to make the request, in the caller's scope.
// attribute_changes before replay_idempotent: the idempotent request's
// transaction records its changes with their origin.
constexpr std::array<stage, 10> chain{
    answer_head,  stamp_request_id, log_request, answer_problems,   limit_body,
    authenticate, route_request,    authorize,   attribute_changes, replay_idempotent};

bool is_problem(const http_response& response) {
    for (const auto& [name, value] : response.headers)
        if (name == "Content-Type") return value == "application/problem+json";
    return false;
}

error no_key() {
    return error(error_code::unauthenticated,
                 "this route needs an API key: Authorization: Bearer <key>");
}

}  // namespace

http_response next_stage::operator()(api_call& call) const {
    if (rest_.empty()) return call.handler_row->handle(call);
    return rest_.front()(call, next_stage(rest_.subspan(1)));
}

http_response run_pipeline(api_call& call) noexcept {
    try {
        return next_stage(chain)(call);
    } catch (...) {
        // Building the problem itself failed (out of memory): answer
        // without allocating more.
        http_response bare;
        bare.status = 500;
        return bare;
    }
}

// HEAD is GET without the body, but with the Content-Length the GET would
// have (RFC 9110 §9.3.2): clients size downloads from it. Outermost, so
// that error answers lose their body too.
http_response answer_head(api_call& call, const next_stage& next) {
    http_response response = next(call);
    if (call.request.method == "HEAD") {
        response.headers.emplace_back("Content-Length", std::to_string(response.body.size()));
        response.body.clear();
    }
    return response;
}

std::string request_id_of(const http_request& request) {
    if (is_well_formed_request_id(request.request_id)) return request.request_id;
    if (const std::string* given = request.header("x-request-id");
        given != nullptr && is_well_formed_request_id(*given))
        return *given;
    return new_request_id();
}

std::string with_request_id(std::string problem_json, std::string_view request_id) {
    const auto close = problem_json.rfind('}');
    if (close == std::string::npos) return problem_json;
    std::string member = problem_json.find(':') == std::string::npos ? "" : ",";
    member.append("\"request_id\":\"").append(request_id).append("\"");
    problem_json.insert(close, member);
    return problem_json;
}

bool asks_for_force(std::string_view query) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view param = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const auto equals = param.find('=');
        std::string name, value;
        if (!percent_decode(param.substr(0, equals), name)) continue;
        if (name != "force" || equals == std::string_view::npos) continue;
        if (percent_decode(param.substr(equals + 1), value) && value == "true") return true;
    }
    return false;
}

// The request's id on its answer: the X-Request-Id header, and in a problem
// body as "request_id" (the id is made of safe characters only: no JSON
// escaping needed). Inside answer_head, so that HEAD answers keep the header.
http_response stamp_request_id(api_call& call, const next_stage& next) {
    call.request_id = request_id_of(call.request);
    http_response response = next(call);
    if (is_problem(response))
        response.body = with_request_id(std::move(response.body), call.request_id);
    response.headers.emplace_back("X-Request-Id", call.request_id);
    return response;
}

// One JSON line per request (never the secret: the key's name and id),
// the request counters, and the request id on every other line the request
// logs.
http_response log_request(api_call& call, const next_stage& next) {
    const log_request_scope scope(call.request_id);
    const auto started = std::chrono::steady_clock::now();
    metrics::request_began();
    struct ended {
        ~ended() { metrics::request_ended(); }
    } busy_until_return;
    http_response response = next(call);
    const auto duration_us =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count());
    const route_row* row = call.handler_row;
    const auto table = route_table();
    metrics::count_request(row != nullptr ? static_cast<std::size_t>(row - table.data()) : 0,
                           row != nullptr, response.status, duration_us);
    if (response.status == 409) metrics::count_conflict();
    try {
        char time[max_timestamp_length];
        const std::string method = clip_text(call.request.method, 16);
        request_log_record record;
        record.time = std::string_view(time, format_timestamp_to(time, now_micros()));
        record.pid = current_pid();
        record.request_id = call.request_id;
        record.method = method;
        record.route = row != nullptr ? row->pattern : std::string_view("unmatched");
        record.status = response.status;
        record.duration_us = duration_us;
        if (call.caller) {
            record.key_name = call.caller->name;
            record.key_id = call.caller->id;
        }
        log_json_line(encode_request_log(record));
    } catch (...) {
        // Logging must not cost the answer.
    }
    return response;
}

// The one place where errors become problem+json.
http_response answer_problems(api_call& call, const next_stage& next) {
    const http_request& request = call.request;
    try {
        return next(call);
    } catch (const error& failure) {
        if (failure.code() == error_code::internal)
            log_error(request.method + " " + request.path + ": " + failure.what());
        return problem_response(failure);
    } catch (const std::bad_alloc&) {
        log_error(request.method + " " + request.path + ": out of memory");
        return problem_response(error(error_code::unavailable, "the server is short of memory"));
    } catch (const std::exception& e) {
        log_error(request.method + " " + request.path + ": " + e.what());
        return problem_response(error(error_code::internal, "internal error"));
    }
}

// Before routing: a body over the limit is 413 whatever the path.
http_response limit_body(api_call& call, const next_stage& next) {
    const std::size_t limit = call.ctx.cfg.max_body_bytes;
    if (call.request.body.size() > limit) {
        throw error(error_code::payload_too_large,
                    "request body is larger than " + std::to_string(limit) + " bytes");
    }
    return next(call);
}

// The key of the request's Authorization header, if it names a live one.
// A missing, malformed or unknown credential leaves `caller` empty: the
// route decides (authorize) whether that is enough. Keys travel only in
// this header, never in cookies or the query string.
http_response authenticate(api_call& call, const next_stage& next) {
    if (const std::string* header = call.request.header("authorization")) {
        if (const auto token = bearer_token(*header)) call.caller = call.ctx.keys.find(*token);
    }
    return next(call);
}

// The route table's row for the path and method (404 for no pattern or an
// unknown collection, 405 with Allow for a method the pattern does not
// take), and the resource type of the collection. Without a key these are
// 401: what exists is nobody's business but a key holder's.
http_response route_request(api_call& call, const next_stage& next) {
    try {
        call.where = match_route(call.request.path);
    } catch (const error& e) {
        if (e.code() == error_code::not_found && !call.caller) throw no_key();
        throw;
    }
    if (!call.where.collection.empty()) {
        call.type = call.ctx.registry.find_by_collection(call.where.collection);
        if (call.type == nullptr) {
            if (!call.caller) throw no_key();
            throw error(error_code::not_found, "no collection '" + call.where.collection + "'");
        }
    }
    call.handler_row = find_method(call.where, call.request.method);
    if (call.handler_row == nullptr) {
        if (!call.caller) throw no_key();
        return method_not_allowed_response(call.request.method, allowed_methods(call.where));
    }
    return next(call);
}

// The row's role against the caller's: 401 without a (live) key, 403 when
// its role is too low. `?force=true` on a DELETE needs an admin.
http_response authorize(api_call& call, const next_stage& next) {
    role required = call.handler_row->required;
    if (call.request.method == "DELETE" && asks_for_force(call.request.query))
        required = role::admin;
    if (required == role::anyone) return next(call);
    if (!call.caller) {
        if (call.request.header("authorization") != nullptr)
            throw error(error_code::unauthenticated,
                        "the API key is not valid (unknown or revoked)");
        throw no_key();
    }
    if (!role_allows(call.caller->role, required)) {
        throw error(error_code::forbidden,
                    "this needs a key with the role '" + std::string(role_name(required)) +
                        "'; this key is '" + std::string(role_name(call.caller->role)) + "'");
    }
    return next(call);
}

// Who changes what: the caller's key, the request id, the method and the
// route's pattern, for the audit trail the handler's changes write (in
// their own transactions: audit/audit.hpp). After a write has been
// answered, the retention's batch when one is due.
http_response attribute_changes(api_call& call, const next_stage& next) {
    const http_request& request = call.request;
    if (request.method == "GET" || request.method == "HEAD") return next(call);
    http_response response;
    {
        const origin_scope origin({call.caller ? call.caller->id : std::string(),
                                   call.caller ? call.caller->name : std::string(), call.request_id,
                                   request.method, std::string(call.handler_row->pattern)});
        response = next(call);
    }
    prune_audit_when_due(call.ctx.db, call.ctx.cfg.audit_retention_days, now_micros());
    return response;
}

}  // namespace invsys
