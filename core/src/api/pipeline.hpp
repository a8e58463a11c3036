// The middleware chain every request runs through, from the service's
// entry to the handler of its route row:
//
//   answer_head → answer_problems → limit_body → route_request
//     → replay_idempotent (api/idempotency.hpp) → handler
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
http_response answer_problems(api_call& call, const next_stage& next);
http_response limit_body(api_call& call, const next_stage& next);
http_response route_request(api_call& call, const next_stage& next);

}  // namespace invsys
