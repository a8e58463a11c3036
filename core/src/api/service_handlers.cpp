#include "api/handlers.hpp"
#include "api/http.hpp"
#include "api/openapi_etag.hpp"
#include "json/codec.hpp"

namespace invsys::api {

http_response get_health(const api_call& call) {
    call.ctx.db.ping();
    return json_response(
        200, encode_string_object({{"status", "ok"}, {"database", call.ctx.db.backend()}}));
}

http_response get_types(const api_call& call) { return json_response(200, call.ctx.types_json); }

// The document changes only with the plugin generation: a client holding
// its ETag (Swagger UI, a code generator) revalidates for nothing.
http_response get_openapi(const api_call& call) {
    const std::string* held = call.request.header("if-none-match");
    http_response response = held != nullptr && if_none_match_holds(*held, call.ctx.openapi_etag)
                                 ? empty_response(304)
                                 : json_response(200, call.ctx.openapi_json);
    response.headers.emplace_back("ETag", call.ctx.openapi_etag);
    return response;
}

}  // namespace invsys::api
