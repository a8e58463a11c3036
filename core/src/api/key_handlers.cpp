// /api/keys: API key management for admins (the same operations as
// `invsys-admin keys`, through auth/keys.hpp), and /api/keys/current for
// any key to see itself.
#include <invsys/metrics.hpp>

#include "api/handlers.hpp"
#include "api/http.hpp"
#include "auth/keys.hpp"
#include "json/codec.hpp"
#include "time/timestamp.hpp"

namespace invsys::api {
namespace {

// Answers that carry a secret or key metadata must not be stored by a cache.
http_response uncached(http_response response) {
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
}

}  // namespace

http_response create_key(const api_call& call) {
    const key_input input = decode_key_input(call.request.body);
    const std::optional<role> r = parse_key_role(*input.role);
    check_key_name(*input.name);
    if (!r) throw invalid_field("role", "must be reader, writer or admin");
    const new_key made = invsys::create_key(call.ctx.db, *input.name, *r);
    auto response = uncached(json_response(201, encode_key(made.key, &made.secret)));
    response.headers.emplace_back("Location", "/api/keys/" + made.key.id);
    return response;
}

http_response list_keys(const api_call& call) {
    return uncached(json_response(200, encode_keys(call.ctx.db.list_keys(max_listed_keys))));
}

http_response get_current_key(const api_call& call) {
    const authenticated_key& who = *call.caller;
    return uncached(json_response(
        200,
        encode_string_object(
            {{"id", who.id}, {"name", who.name}, {"role", std::string(role_name(who.role))}})));
}

http_response delete_key(const api_call& call) {
    invsys::revoke_key(call.ctx.db, call.where.resource_id);
    return empty_response(204);
}

http_response get_metrics(const api_call&) {
    http_response response;
    response.status = 200;
    response.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    response.headers.emplace_back("Cache-Control", "no-store");
    response.body = metrics::render_prometheus();
    return response;
}

}  // namespace invsys::api
