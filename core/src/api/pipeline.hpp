// The middleware chain every request runs through, from the service's
// entry to the handler of its route row:
//
//   answer_head → stamp_request_id → log_request → answer_problems →
//   limit_body → authenticate → route_request → authorize →
//   attribute_changes (audit/audit.hpp) → replay_idempotent
//   (api/idempotency.hpp) → handler
//
// Authentication is a stage of this chain, not of nginx: every request that
// reaches a worker, through nginx or straight to the FastCGI socket, passes
// it, and nothing answers without it but the routes the table opens to
// anyone. A database that cannot be read fails the request (503), never
// lets it through.
//
// Each stage gets the call and the rest of the chain (`next`), and may
// answer by itself, change the call, or post-process the answer. Stages
// that later features need (request id, authentication context,
// idempotency, conditional requests) are inserted here, one line each,
// after `route_request` when they need the matched row (its required role).
#pragma once

#include <cstddef>
#include <span>

#include "api/handlers.hpp"

namespace invsys {

class next_stage;
using stage = http_response (*)(api_call& call, const next_stage& next);

// The rest of the chain after one stage.
class next_stage {
  public:
    next_stage(std::span<const stage> rest) noexcept : rest_(rest) {}
    // Runs the following stages, then the handler of call.handler_row.
    http_response operator()(api_call& call) const;

  private:
    std::span<const stage> rest_;
};

// Runs `call` through the whole chain. Never throws: every failure becomes
// a problem+json answer (answer_problems is the one catch site).
http_response run_pipeline(api_call& call) noexcept;

// The stages, in chain order; exposed for the tests.
http_response answer_head(api_call& call, const next_stage& next);
http_response stamp_request_id(api_call& call, const next_stage& next);
http_response log_request(api_call& call, const next_stage& next);
http_response answer_problems(api_call& call, const next_stage& next);
http_response limit_body(api_call& call, const next_stage& next);
http_response authenticate(api_call& call, const next_stage& next);
http_response route_request(api_call& call, const next_stage& next);
http_response authorize(api_call& call, const next_stage& next);
http_response attribute_changes(api_call& call, const next_stage& next);

// The request id a request goes by: the gateway's (`request.request_id`)
// when well formed, else the client's X-Request-Id when well formed, else
// a fresh one.
std::string request_id_of(const http_request& request);
// `problem_json` (a problem body, a JSON object) with "request_id" added.
std::string with_request_id(std::string problem_json, std::string_view request_id);
// True when a DELETE's query asks for ?force=true (which needs an admin).
bool asks_for_force(std::string_view query);

}  // namespace invsys
