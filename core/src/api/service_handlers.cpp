#include "api/handlers.hpp"
#include "api/http.hpp"
#include "json/codec.hpp"

namespace invsys::api {

http_response get_health(const api_call& call) {
    call.ctx.db.ping();
    return json_response(
        200, encode_string_object({{"status", "ok"}, {"database", call.ctx.db.backend()}}));
}

http_response get_types(const api_call& call) { return json_response(200, call.ctx.types_json); }

}  // namespace invsys::api
