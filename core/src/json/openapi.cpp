// GET /api/openapi.json: the route table's doc records and the loaded types
// as OpenAPI 3.1 (JSON Schema 2020-12 inside, so a plugin's attribute
// schema, exclusiveMinimum as a number included, is used as it is).
#include "json/openapi.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <invsys/http_status.hpp>
#include <string_view>

#include "json/writer.hpp"

#ifndef INVSYS_VERSION
#define INVSYS_VERSION "0"
#endif

namespace invsys {
namespace {

constexpr std::string_view schemas = "#/components/schemas/";

// The gateway's own errors (nginx/invsys.conf.template) and the pool's
// failures: any operation can meet them, whatever its handler does.
constexpr std::array<int, 9> every_route_statuses{400, 408, 414, 421, 429, 500, 502, 503, 504};
// Every status with a problem body an operation can answer
// (components/responses). Not 405: a method a path does not take is no
// operation of the document.
constexpr std::array<int, 17> problem_statuses{400, 401, 403, 404, 408, 409, 412, 413, 414,
                                               421, 422, 429, 500, 502, 503, 504, 507};

void write_ref(json_writer& w, std::string_view prefix, std::string_view name) {
    w.StartObject();
    write_key(w, "$ref");
    std::string ref(prefix);
    ref += name;
    write_string(w, ref);
    w.EndObject();
}

void write_schema_ref(json_writer& w, std::string_view name) { write_ref(w, schemas, name); }

void write_member(json_writer& w, std::string_view key, std::string_view value) {
    write_key(w, key);
    write_string(w, value);
}

// {"type": …} or, for a field that may read null, {"type": [… , "null"]}.
void write_type(json_writer& w, std::string_view type, bool nullable) {
    write_key(w, "type");
    if (!nullable) {
        write_string(w, type);
        return;
    }
    w.StartArray();
    write_string(w, type);
    write_string(w, "null");
    w.EndArray();
}

void write_simple(json_writer& w, std::string_view type, bool nullable = false,
                  std::string_view format = {}, std::string_view description = {}) {
    w.StartObject();
    write_type(w, type, nullable);
    if (!format.empty()) write_member(w, "format", format);
    if (!description.empty()) write_member(w, "description", description);
    w.EndObject();
}

void write_required(json_writer& w, std::initializer_list<std::string_view> names) {
    write_key(w, "required");
    w.StartArray();
    for (auto n : names) write_string(w, n);
    w.EndArray();
}

void write_array_of(json_writer& w, std::string_view item_schema) {
    w.StartObject();
    write_member(w, "type", "array");
    write_key(w, "items");
    write_schema_ref(w, item_schema);
    w.EndObject();
}

// --- component schemas ---------------------------------------------------

void write_problem_schema(json_writer& w) {
    w.StartObject();
    write_member(w, "type", "object");
    write_member(w, "description",
                 "RFC 9457 problem details; every error of invsys and of its gateway.");
    write_required(w, {"type", "title", "status"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "type");
    write_simple(w, "string", false, {}, "always about:blank");
    write_key(w, "title");
    write_simple(w, "string");
    write_key(w, "status");
    write_simple(w, "integer");
    write_key(w, "detail");
    write_simple(w, "string");
    write_key(w, "request_id");
    write_simple(w, "string", false, {}, "the request's X-Request-Id");
    write_key(w, "errors");
    w.StartObject();
    write_member(w, "type", "array");
    write_member(w, "description", "field errors, at most 20");
    write_key(w, "maxItems");
    w.Uint(20);
    write_key(w, "items");
    w.StartObject();
    write_member(w, "type", "object");
    write_required(w, {"field", "message"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "field");
    write_simple(w, "string");
    write_key(w, "message");
    write_simple(w, "string");
    w.EndObject();
    w.EndObject();
    w.EndObject();
    write_key(w, "errors_total");
    write_simple(w, "integer", false, {}, "how many field errors there were, when over 20");
    write_key(w, "conflicts");
    w.StartObject();
    write_member(w, "type", "array");
    write_member(w, "description", "the ids in the way (409), at most 100");
    write_key(w, "items");
    write_simple(w, "string");
    w.EndObject();
    w.EndObject();
    w.EndObject();
}

void write_object_start(json_writer& w, bool closed, std::string_view description = {}) {
    w.StartObject();
    write_member(w, "type", "object");
    if (!description.empty()) write_member(w, "description", description);
    if (closed) {
        write_key(w, "additionalProperties");
        w.Bool(false);
    }
}

void write_health_schema(json_writer& w) {
    write_object_start(w, false);
    write_required(w, {"status", "database"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "status");
    write_simple(w, "string");
    write_key(w, "database");
    write_simple(w, "string", false, {}, "sqlite or postgresql");
    w.EndObject();
    w.EndObject();
}

void write_rules_schema(json_writer& w) {
    write_object_start(w, false, "a type's per-type rules in force");
    write_required(w, {"allocation_types", "durations", "buffer_before_seconds",
                       "buffer_after_seconds", "min_notice_seconds"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "allocation_types");
    w.StartObject();
    write_type(w, "array", true);
    write_member(w, "description", "the allowed allocation_type values; null: any");
    write_key(w, "items");
    write_simple(w, "string");
    w.EndObject();
    write_key(w, "durations");
    w.StartObject();
    write_member(w, "type", "array");
    write_key(w, "items");
    write_object_start(w, false);
    write_required(w, {"allocation_type", "min_seconds", "max_seconds"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "allocation_type");
    write_simple(w, "string");
    write_key(w, "min_seconds");
    write_simple(w, "number", true);
    write_key(w, "max_seconds");
    write_simple(w, "number", true);
    w.EndObject();
    w.EndObject();
    w.EndObject();
    for (auto name : {"buffer_before_seconds", "buffer_after_seconds", "min_notice_seconds"}) {
        write_key(w, name);
        write_simple(w, "number");
    }
    w.EndObject();
    w.EndObject();
}

void write_types_schema(json_writer& w) {
    w.StartObject();
    write_member(w, "type", "array");
    write_key(w, "items");
    write_object_start(w, false);
    write_required(w, {"resource_type", "collection", "attributes", "rules"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "resource_type");
    write_simple(w, "string");
    write_key(w, "collection");
    write_simple(w, "string");
    write_key(w, "attributes");
    write_simple(w, "object", false, {}, "the JSON Schema (2020-12) of the type's attributes");
    write_key(w, "rules");
    write_schema_ref(w, "TypeRules");
    w.EndObject();
    w.EndObject();
    w.EndObject();
}

void write_key_schema(json_writer& w, bool with_secret) {
    write_object_start(w, false);
    if (with_secret)
        write_required(w, {"id", "name", "role", "created", "last_used", "key"});
    else
        write_required(w, {"id", "name", "role", "created", "last_used"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "id");
    write_simple(w, "string", false, "uuid");
    write_key(w, "name");
    write_simple(w, "string");
    write_key(w, "role");
    write_schema_ref(w, "Role");
    write_key(w, "created");
    write_simple(w, "string", false, "date-time");
    write_key(w, "last_used");
    write_simple(w, "string", true, "date-time");
    if (with_secret) {
        write_key(w, "key");
        write_simple(w, "string", false, {}, "the secret: shown only in this answer");
    }
    w.EndObject();
    w.EndObject();
}

void write_role_schema(json_writer& w) {
    w.StartObject();
    write_member(w, "type", "string");
    write_key(w, "enum");
    w.StartArray();
    for (auto r : {"reader", "writer", "admin"}) write_string(w, r);
    w.EndArray();
    w.EndObject();
}

void write_key_input_schema(json_writer& w) {
    write_object_start(w, true);
    write_required(w, {"name", "role"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "name");
    w.StartObject();
    write_member(w, "type", "string");
    write_key(w, "minLength");
    w.Uint(1);
    write_key(w, "maxLength");
    w.Uint(64);
    w.EndObject();
    write_key(w, "role");
    write_schema_ref(w, "Role");
    w.EndObject();
    w.EndObject();
}

void write_current_key_schema(json_writer& w) {
    write_object_start(w, false);
    write_required(w, {"id", "name", "role"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "id");
    write_simple(w, "string", false, "uuid");
    write_key(w, "name");
    write_simple(w, "string");
    write_key(w, "role");
    write_schema_ref(w, "Role");
    w.EndObject();
    w.EndObject();
}

void write_bounded_string(json_writer& w, std::size_t min, std::size_t max, bool nullable,
                          std::string_view description = {}) {
    w.StartObject();
    write_type(w, "string", nullable);
    write_key(w, "minLength");
    w.Uint64(min);
    write_key(w, "maxLength");
    w.Uint64(max);
    if (!description.empty()) write_member(w, "description", description);
    w.EndObject();
}

// A request body's fields: a field given as null counts as absent, so each
// one may be null; `…_infinity: false` counts as not given.
enum class allocation_body { create, update, any_free };

void write_allocation_input_schema(json_writer& w, allocation_body kind) {
    write_object_start(w, true,
                       "start: exactly one of from_datetime and from_infinity: true; end: exactly "
                       "one of to_datetime and to_infinity: true (on PATCH, either form replaces "
                       "that end)");
    if (kind != allocation_body::update) write_required(w, {"allocation_type"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "from_datetime");
    write_simple(w, "string", true, {}, "RFC 3339, or the naive form read as UTC");
    write_key(w, "from_infinity");
    write_simple(w, "boolean", true, {}, "true: open start");
    write_key(w, "to_datetime");
    write_simple(w, "string", true, {}, "RFC 3339, or the naive form read as UTC");
    write_key(w, "to_infinity");
    write_simple(w, "boolean", true, {}, "true: open end");
    write_key(w, "allocation_type");
    write_bounded_string(w, 1, 32, kind == allocation_body::update, "e.g. booking, maintenance");
    write_key(w, "description");
    write_bounded_string(w, 0, 1000, true);
    write_key(w, "dump");
    write_simple(w, "object", true, {}, "any JSON object up to 16 KiB, returned as written");
    if (kind == allocation_body::any_free) {
        write_key(w, "candidates");
        w.StartObject();
        write_type(w, "array", true);
        write_member(w, "description",
                     "resource ids to try in this order (default: every resource of the type, "
                     "oldest first)");
        write_key(w, "minItems");
        w.Uint(1);
        write_key(w, "maxItems");
        w.Uint64(max_candidates);
        write_key(w, "uniqueItems");
        w.Bool(true);
        write_key(w, "items");
        write_simple(w, "string", false, "uuid");
        w.EndObject();
    }
    w.EndObject();
    w.EndObject();
}

void write_allocation_schema(json_writer& w) {
    write_object_start(w, false, "an allocation of [from, to); an open end reads null");
    write_required(
        w, {"id", "resource_type", "resource_id", "from_infinity", "to_infinity", "from_datetime",
            "to_datetime", "allocation_type", "description", "dump", "created"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "id");
    write_simple(w, "string", false, "uuid");
    write_key(w, "resource_type");
    write_simple(w, "string");
    write_key(w, "resource_id");
    write_simple(w, "string", false, "uuid");
    write_key(w, "from_infinity");
    write_simple(w, "boolean");
    write_key(w, "to_infinity");
    write_simple(w, "boolean");
    write_key(w, "from_datetime");
    write_simple(w, "string", true, "date-time");
    write_key(w, "to_datetime");
    write_simple(w, "string", true, "date-time");
    write_key(w, "allocation_type");
    write_simple(w, "string");
    write_key(w, "description");
    write_simple(w, "string", true);
    write_key(w, "dump");
    write_simple(w, "object", true);
    write_key(w, "created");
    write_simple(w, "string", false, "date-time");
    w.EndObject();
    w.EndObject();
}

void write_free_gap_schema(json_writer& w) {
    write_object_start(w, false, "a free gap; an open end reads null");
    write_required(w, {"from_datetime", "to_datetime"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "from_datetime");
    write_simple(w, "string", true, "date-time");
    write_key(w, "to_datetime");
    write_simple(w, "string", true, "date-time");
    w.EndObject();
    w.EndObject();
}

// GET /api/audit's entries (json/audit.cpp): `before` and `after` are the
// row as the API showed it (a resource or an allocation, a key without its
// secret), null where there was none.
void write_audit_entry_schema(json_writer& w) {
    write_object_start(w, false, "one recorded change, written in the change's own transaction");
    write_required(w, {"id", "time", "key", "request_id", "method", "route", "action",
                       "entity_kind", "entity_id", "resource_id", "before", "after"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "id");
    write_simple(w, "string", false, "uuid");
    write_key(w, "time");
    write_simple(w, "string", false, "date-time");
    write_key(w, "key");
    write_object_start(w, false, "who: the API key (never its secret), or invsys-admin");
    write_required(w, {"id", "name"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "id");
    write_simple(w, "string", true);
    write_key(w, "name");
    write_simple(w, "string");
    w.EndObject();
    w.EndObject();
    write_key(w, "request_id");
    write_simple(w, "string", true, {}, "the gateway's X-Request-Id");
    write_key(w, "method");
    write_simple(w, "string");
    write_key(w, "route");
    write_simple(w, "string", false, {}, "the route pattern, e.g. /api/{collection}/{id}");
    write_key(w, "action");
    write_simple(w, "string");
    write_key(w, "entity_kind");
    write_simple(w, "string");
    write_key(w, "entity_id");
    write_simple(w, "string");
    write_key(w, "resource_id");
    write_simple(w, "string", true);
    for (std::string_view row : {"before", "after"}) {
        write_key(w, row);
        write_simple(w, "object", true);
    }
    w.EndObject();
    w.EndObject();
}

// One type's resource shapes: <Type>, <Type>Input, <Type>Update, <Type>List
// and <Type>Attributes (the plugin's own schema, as /api/types shows it).
void write_type_schemas(json_writer& w, const type_description& type) {
    const std::string& t = type.type_name;
    write_key(w, t + "Attributes");
    const std::string attributes = encode_attribute_schema(type.attributes);
    w.RawValue(attributes.data(), attributes.size(), rapidjson::kObjectType);

    write_key(w, t);
    write_object_start(w, false, "a resource of type " + t);
    write_required(w, {"id", "name", "resource_type", "created", "attributes"});
    write_key(w, "properties");
    w.StartObject();
    write_key(w, "id");
    write_simple(w, "string", false, "uuid");
    write_key(w, "name");
    write_simple(w, "string");
    write_key(w, "resource_type");
    w.StartObject();
    write_member(w, "const", t);
    w.EndObject();
    write_key(w, "created");
    write_simple(w, "string", false, "date-time");
    write_key(w, "attributes");
    write_schema_ref(w, t + "Attributes");
    w.EndObject();
    w.EndObject();

    for (const bool update : {false, true}) {
        write_key(w, t + (update ? "Update" : "Input"));
        write_object_start(w, true);
        if (!update) write_required(w, {"name"});
        write_key(w, "properties");
        w.StartObject();
        write_key(w, "name");
        write_bounded_string(w, 1, 64, update, "unique within the type; no control characters");
        write_key(w, "attributes");
        w.StartObject();
        write_key(w, "oneOf");
        w.StartArray();
        write_schema_ref(w, t + "Attributes");
        write_simple(w, "null");
        w.EndArray();
        w.EndObject();
        w.EndObject();
        w.EndObject();
    }
    write_key(w, t + "List");
    write_array_of(w, t);
}

void write_component_schemas(json_writer& w, const std::vector<type_description>& types) {
    write_key(w, "schemas");
    w.StartObject();
    write_key(w, "Problem");
    write_problem_schema(w);
    write_key(w, "Health");
    write_health_schema(w);
    write_key(w, "TypeRules");
    write_rules_schema(w);
    write_key(w, "Types");
    write_types_schema(w);
    write_key(w, "OpenApi");
    write_simple(w, "object", false, {}, "this document");
    write_key(w, "Role");
    write_role_schema(w);
    write_key(w, "KeyInput");
    write_key_input_schema(w);
    write_key(w, "Key");
    write_key_schema(w, false);
    write_key(w, "KeyCreated");
    write_key_schema(w, true);
    write_key(w, "KeyList");
    write_array_of(w, "Key");
    write_key(w, "CurrentKey");
    write_current_key_schema(w);
    write_key(w, "AllocationInput");
    write_allocation_input_schema(w, allocation_body::create);
    write_key(w, "AllocationUpdate");
    write_allocation_input_schema(w, allocation_body::update);
    write_key(w, "AnyFreeInput");
    write_allocation_input_schema(w, allocation_body::any_free);
    write_key(w, "Allocation");
    write_allocation_schema(w);
    write_key(w, "AllocationList");
    write_array_of(w, "Allocation");
    write_key(w, "FreeGap");
    write_free_gap_schema(w);
    write_key(w, "FreeGapList");
    write_array_of(w, "FreeGap");
    write_key(w, "AuditEntry");
    write_audit_entry_schema(w);
    write_key(w, "AuditEntryList");
    write_array_of(w, "AuditEntry");
    for (const auto& type : types) write_type_schemas(w, type);
    w.EndObject();
}

// --- headers, parameters, responses --------------------------------------

// Response headers, each a component; `required` ones the harness checks
// on every answer that declares them.
struct header_doc {
    std::string_view component;
    std::string_view name;
    bool required;
    std::string_view description;
};

constexpr std::array<header_doc, 8> response_headers{{
    {"X-Request-Id", "X-Request-Id", true,
     "the request's id (given, or made by the gateway); also in problem bodies"},
    {"ETag", "ETag", true, "strong: the row's version, \"1\" when created"},
    {"Location", "Location", true, "the path of what was created"},
    {"Link", "Link", false, "<…>; rel=\"next\" when more items remain"},
    {"Idempotent-Replayed", "Idempotent-Replayed", false,
     "true: the stored answer to an earlier request with the same Idempotency-Key"},
    {"WWW-Authenticate", "WWW-Authenticate", true, "Bearer realm=\"invsys\""},
    {"Retry-After", "Retry-After", true, "seconds to wait before retrying"},
    {"Retry-After-In-Flight", "Retry-After", false,
     "seconds to wait: given when the Idempotency-Key's first request is still running"},
}};

void write_header_components(json_writer& w) {
    write_key(w, "headers");
    w.StartObject();
    for (const auto& h : response_headers) {
        write_key(w, h.component);
        w.StartObject();
        write_member(w, "description", h.description);
        write_key(w, "required");
        w.Bool(h.required);
        write_key(w, "schema");
        write_simple(w, "string");
        w.EndObject();
    }
    w.EndObject();
}

// {"<header name>": {"$ref": …}} for one header component.
void write_header_ref(json_writer& w, std::string_view component) {
    for (const auto& h : response_headers) {
        if (h.component != component) continue;
        write_key(w, h.name);
        write_ref(w, "#/components/headers/", component);
    }
}

struct query_doc {
    std::string_view name;
    std::string_view description;
    std::string_view type;
};

constexpr std::array<query_doc, 8> query_parameters{{
    {"limit", "page size, 1-1000 (default 100)", "integer"},
    {"after", "the id of the last item of the previous page", "string"},
    {"from", "window start (RFC 3339); open when omitted", "string"},
    {"to", "window end (RFC 3339, exclusive); open when omitted", "string"},
    {"allocation_type", "only allocations of exactly this type", "string"},
    {"force", "true: delete with every allocation (admin keys only)", "boolean"},
    {"resource_id", "only what concerns this resource (its allocations included)", "string"},
    {"entity_id", "only the changes of this resource, allocation or key", "string"},
}};

void write_parameter_components(json_writer& w) {
    write_key(w, "parameters");
    w.StartObject();
    for (const auto& q : query_parameters) {
        write_key(w, q.name);
        w.StartObject();
        write_member(w, "name", q.name);
        write_member(w, "in", "query");
        write_member(w, "description", q.description);
        write_key(w, "schema");
        write_simple(w, q.type);
        w.EndObject();
    }
    const auto header_param = [&](std::string_view name, std::string_view description) {
        write_key(w, name);
        w.StartObject();
        write_member(w, "name", name);
        write_member(w, "in", "header");
        write_member(w, "description", description);
        write_key(w, "schema");
        write_simple(w, "string");
        w.EndObject();
    };
    header_param("If-Match", "\"<version>\", a list, or *: 412 when the stored version differs");
    header_param("Idempotency-Key",
                 "1-255 printable ASCII characters: a retry with the same key and body gets the "
                 "first answer again (Idempotent-Replayed: true), never a second write");
    header_param("If-None-Match", "the ETag held: 304 when it is still current");
    for (std::string_view id : {"id", "allocation_id"}) {
        write_key(w, id);
        w.StartObject();
        write_member(w, "name", id);
        write_member(w, "in", "path");
        write_key(w, "required");
        w.Bool(true);
        write_key(w, "schema");
        write_simple(w, "string", false, "uuid");
        w.EndObject();
    }
    w.EndObject();
}

std::string problem_response_name(int status) { return "Problem" + std::to_string(status); }

void write_response_components(json_writer& w) {
    write_key(w, "responses");
    w.StartObject();
    for (int status : problem_statuses) {
        write_key(w, problem_response_name(status));
        w.StartObject();
        write_member(w, "description", http_reason_phrase(status));
        write_key(w, "headers");
        w.StartObject();
        write_header_ref(w, "X-Request-Id");
        if (status == 401) write_header_ref(w, "WWW-Authenticate");
        if (status == 429 || status == 503 || status == 507) write_header_ref(w, "Retry-After");
        if (status == 409) write_header_ref(w, "Retry-After-In-Flight");
        w.EndObject();
        write_key(w, "content");
        w.StartObject();
        write_key(w, "application/problem+json");
        w.StartObject();
        write_key(w, "schema");
        write_schema_ref(w, "Problem");
        w.EndObject();
        w.EndObject();
        w.EndObject();
    }
    w.EndObject();
}

// --- operations ------------------------------------------------------------

// The schema name of a body shape; the resource shapes are the type's.
std::string schema_of(body_shape shape, const type_description* type) {
    const std::string t = type != nullptr ? type->type_name : "";
    switch (shape) {
        case body_shape::none:
        case body_shape::metrics_text:
            return {};
        case body_shape::health:
            return "Health";
        case body_shape::types:
            return "Types";
        case body_shape::openapi:
            return "OpenApi";
        case body_shape::key_input:
            return "KeyInput";
        case body_shape::key_created:
            return "KeyCreated";
        case body_shape::keys:
            return "KeyList";
        case body_shape::current_key:
            return "CurrentKey";
        case body_shape::resource_input:
            return t + "Input";
        case body_shape::resource_update:
            return t + "Update";
        case body_shape::resource:
            return t;
        case body_shape::resources:
            return t + "List";
        case body_shape::allocation_input:
            return "AllocationInput";
        case body_shape::allocation_update:
            return "AllocationUpdate";
        case body_shape::any_free_input:
            return "AnyFreeInput";
        case body_shape::allocation:
            return "Allocation";
        case body_shape::allocations:
            return "AllocationList";
        case body_shape::free_gaps:
            return "FreeGapList";
        case body_shape::audit_entries:
            return "AuditEntryList";
    }
    return {};
}

bool is_list(body_shape shape) {
    return shape == body_shape::resources || shape == body_shape::allocations ||
           shape == body_shape::free_gaps || shape == body_shape::audit_entries;
}

bool is_versioned(body_shape shape) {
    return shape == body_shape::resource || shape == body_shape::allocation ||
           shape == body_shape::openapi;
}

std::string lower(std::string_view method) {
    std::string m(method);
    for (char& c : m) c = static_cast<char>(c - 'A' + 'a');
    return m;
}

// The statuses an operation can answer besides its success, in order.
std::vector<int> statuses_of(const route_row& row) {
    std::vector<int> statuses(every_route_statuses.begin(), every_route_statuses.end());
    const route_doc& doc = row.doc;
    if (row.required != role::anyone) statuses.insert(statuses.end(), {401, 403});
    if (row.pattern.find('{') != std::string_view::npos) statuses.push_back(404);
    if (doc.request != body_shape::none) statuses.push_back(413);
    if (row.method == "POST") statuses.insert(statuses.end(), {409, 422});  // Idempotency-Key
    if (row.method != "GET") statuses.push_back(507);
    for (int s : doc.other_statuses)
        if (s != 0) statuses.push_back(s);
    std::sort(statuses.begin(), statuses.end());
    statuses.erase(std::unique(statuses.begin(), statuses.end()), statuses.end());
    return statuses;
}

void write_success(json_writer& w, const route_row& row, const type_description* type) {
    const route_doc& doc = row.doc;
    write_key(w, std::to_string(doc.success));
    w.StartObject();
    write_member(w, "description", http_reason_phrase(doc.success));
    write_key(w, "headers");
    w.StartObject();
    write_header_ref(w, "X-Request-Id");
    if (is_versioned(doc.answer)) write_header_ref(w, "ETag");
    if (doc.success == 201) write_header_ref(w, "Location");
    if (is_list(doc.answer)) write_header_ref(w, "Link");
    if (row.method == "POST") write_header_ref(w, "Idempotent-Replayed");
    w.EndObject();
    if (doc.answer == body_shape::metrics_text) {
        write_key(w, "content");
        w.StartObject();
        write_key(w, "text/plain");
        w.StartObject();
        write_key(w, "schema");
        write_simple(w, "string", false, {}, "Prometheus text format 0.0.4");
        w.EndObject();
        w.EndObject();
    } else if (doc.answer != body_shape::none) {
        write_key(w, "content");
        w.StartObject();
        write_key(w, "application/json");
        w.StartObject();
        write_key(w, "schema");
        write_schema_ref(w, schema_of(doc.answer, type));
        w.EndObject();
        w.EndObject();
    }
    w.EndObject();
}

void write_not_modified(json_writer& w) {
    write_key(w, "304");
    w.StartObject();
    write_member(w, "description", "Not Modified: the If-None-Match ETag is current");
    write_key(w, "headers");
    w.StartObject();
    write_header_ref(w, "X-Request-Id");
    write_header_ref(w, "ETag");
    w.EndObject();
    w.EndObject();
}

void write_operation(json_writer& w, const route_row& row, const type_description* type) {
    const route_doc& doc = row.doc;
    write_key(w, lower(row.method));
    w.StartObject();
    std::string operation_id(doc.operation_id);
    if (type != nullptr) operation_id += "_" + type->collection;
    write_member(w, "operationId", operation_id);
    write_member(w, "summary", doc.summary);
    write_key(w, "tags");
    w.StartArray();
    if (type != nullptr)
        write_string(w, type->collection);
    else
        write_string(w, row.pattern.starts_with("/api/keys") ? "keys" : "service");
    w.EndArray();
    std::string description = "Role: ";
    description += row.required == role::anyone ? "none (no key needed)" : role_name(row.required);
    description += ". HEAD is answered wherever GET is, without the body.";
    write_member(w, "description", description);
    if (row.required == role::anyone) {
        write_key(w, "security");
        w.StartArray();
        w.EndArray();
    }

    write_key(w, "parameters");
    w.StartArray();
    for (std::string_view q : doc.query)
        if (!q.empty()) write_ref(w, "#/components/parameters/", q);
    if (doc.if_match) write_ref(w, "#/components/parameters/", "If-Match");
    if (row.method == "POST") write_ref(w, "#/components/parameters/", "Idempotency-Key");
    if (doc.answer == body_shape::openapi)
        write_ref(w, "#/components/parameters/", "If-None-Match");
    w.EndArray();

    if (doc.request != body_shape::none) {
        write_key(w, "requestBody");
        w.StartObject();
        write_key(w, "required");
        w.Bool(doc.request != body_shape::resource_update &&
               doc.request != body_shape::allocation_update);
        write_key(w, "content");
        w.StartObject();
        write_key(w, "application/json");
        w.StartObject();
        write_key(w, "schema");
        write_schema_ref(w, schema_of(doc.request, type));
        w.EndObject();
        w.EndObject();
        w.EndObject();
    }

    write_key(w, "responses");
    w.StartObject();
    write_success(w, row, type);
    for (int status : statuses_of(row)) {
        if (status == 304) {
            write_not_modified(w);
            continue;
        }
        write_key(w, std::to_string(status));
        write_ref(w, "#/components/responses/", problem_response_name(status));
    }
    w.EndObject();
    w.EndObject();
}

// The path of a row relative to servers[0].url (/api), with the collection
// filled in.
std::string path_of(const route_row& row, const type_description* type) {
    std::string path(row.pattern.substr(std::string_view("/api").size()));
    if (type != nullptr) path.replace(path.find("{collection}"), 12, type->collection);
    return path;
}

// The rows of one pattern are consecutive in the table: one path item each.
void write_paths(json_writer& w, std::span<const route_row> routes, const type_description* type) {
    const bool collections = type != nullptr;
    for (std::size_t i = 0; i < routes.size();) {
        const std::string_view pattern = routes[i].pattern;
        std::size_t end = i;
        while (end < routes.size() && routes[end].pattern == pattern) ++end;
        if ((pattern.find("{collection}") != std::string_view::npos) == collections) {
            write_key(w, path_of(routes[i], type));
            w.StartObject();
            if (pattern.find("{id}") != std::string_view::npos ||
                pattern.find("{allocation_id}") != std::string_view::npos) {
                write_key(w, "parameters");
                w.StartArray();
                if (pattern.find("{id}") != std::string_view::npos)
                    write_ref(w, "#/components/parameters/", "id");
                if (pattern.find("{allocation_id}") != std::string_view::npos)
                    write_ref(w, "#/components/parameters/", "allocation_id");
                w.EndArray();
            }
            for (std::size_t k = i; k < end; ++k) write_operation(w, routes[k], type);
            w.EndObject();
        }
        i = end;
    }
}

void write_tags(json_writer& w, const std::vector<type_description>& types) {
    write_key(w, "tags");
    w.StartArray();
    const auto tag = [&](std::string_view name, const std::string& description) {
        w.StartObject();
        write_member(w, "name", name);
        write_member(w, "description", description);
    };
    tag("service", "Health, this description, the loaded types and the metrics.");
    w.EndObject();
    tag("keys", "API keys and their roles (admins).");
    w.EndObject();
    for (const auto& type : types) {
        tag(type.collection, "Resources of type " + type.type_name +
                                 " and their allocations. Its rules in force are in "
                                 "x-invsys-rules (as GET /api/types shows them).");
        write_key(w, "x-invsys-resource-type");
        write_string(w, type.type_name);
        write_key(w, "x-invsys-rules");
        const std::string rules = encode_type_rules(type.rules);
        w.RawValue(rules.data(), rules.size(), rapidjson::kObjectType);
        w.EndObject();
    }
    w.EndArray();
}

void write_info(json_writer& w) {
    write_key(w, "info");
    w.StartObject();
    write_member(w, "title", "invsys");
    write_member(w, "version", INVSYS_VERSION);
    write_member(w, "description",
                 "Booking and inventory of resources (one collection per loaded resource-type "
                 "plugin) and their allocations. Every route but `GET /health` needs "
                 "`Authorization: Bearer <key>`. Errors are `application/problem+json` (RFC "
                 "9457). Swagger UI of this document: `/docs/`.");
    w.EndObject();
}

std::string strong_etag_of(std::string_view text) {
    std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a, 64 bits
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 1099511628211ULL;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return std::string("\"openapi-") + hex + "\"";
}

}  // namespace

openapi_document describe_openapi(std::span<const route_row> routes,
                                  const std::vector<type_description>& types) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    w.StartObject();
    write_member(w, "openapi", "3.1.0");
    write_info(w);
    write_key(w, "servers");
    w.StartArray();
    w.StartObject();
    write_member(w, "url", "/api");
    w.EndObject();
    w.EndArray();
    write_key(w, "security");
    w.StartArray();
    w.StartObject();
    write_key(w, "bearer");
    w.StartArray();
    w.EndArray();
    w.EndObject();
    w.EndArray();
    write_tags(w, types);
    write_key(w, "paths");
    w.StartObject();
    write_paths(w, routes, nullptr);
    for (const auto& type : types) write_paths(w, routes, &type);
    w.EndObject();
    write_key(w, "components");
    w.StartObject();
    write_key(w, "securitySchemes");
    w.StartObject();
    write_key(w, "bearer");
    w.StartObject();
    write_member(w, "type", "http");
    write_member(w, "scheme", "bearer");
    write_member(w, "description", "an API key (invsys-admin keys create, or POST /keys)");
    w.EndObject();
    w.EndObject();
    write_component_schemas(w, types);
    write_header_components(w);
    write_parameter_components(w);
    write_response_components(w);
    w.EndObject();
    w.EndObject();
    openapi_document document{{buffer.GetString(), buffer.GetSize()}, {}};
    document.etag = strong_etag_of(document.json);
    return document;
}

}  // namespace invsys
