#include "api/pipeline.hpp"

#include <array>
#include <invsys/log.hpp>
#include <new>

#include "api/http.hpp"
#include "api/idempotency.hpp"
#include "api/router.hpp"
#include "error/error.hpp"

namespace invsys {
namespace {

constexpr std::array<stage, 5> chain{answer_head, answer_problems, limit_body, route_request,
                                     replay_idempotent};

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

// The route table's row for the path and method (404 for no pattern or an
// unknown collection, 405 with Allow for a method the pattern does not
// take), and the resource type of the collection.
http_response route_request(api_call& call, const next_stage& next) {
    call.where = match_route(call.request.path);
    if (!call.where.collection.empty()) {
        call.type = call.ctx.registry.find_by_collection(call.where.collection);
        if (call.type == nullptr)
            throw error(error_code::not_found, "no collection '" + call.where.collection + "'");
    }
    call.handler_row = find_method(call.where, call.request.method);
    if (call.handler_row == nullptr)
        return method_not_allowed_response(call.request.method, allowed_methods(call.where));
    return next(call);
}

}  // namespace invsys
