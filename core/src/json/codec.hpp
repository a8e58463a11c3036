// JSON in and out of the API. The only place that includes RapidJSON is
// json/*.cpp; everything else sees these plain types.
//
// Parsing (json_reader.hpp) never lets RapidJSON convert a number, is
// iterative, validates UTF-8, refuses nesting deeper than max_json_depth and
// bodies larger than max_json_bytes; the decoders check the type of every
// field. Failures throw error(invalid) with `errors` naming the fields
// (the first max_listed_field_errors of them); a value of `null` counts as
// absent. Numbers are converted with std::from_chars (number_text.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <invsys/resource_type.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "booking/inputs.hpp"
#include "error/error.hpp"
#include "model.hpp"

namespace invsys {

inline constexpr std::size_t max_json_depth = 64;
inline constexpr std::size_t max_json_bytes = 1024 * 1024;

resource_input decode_resource_input(std::string_view body);
allocation_input decode_allocation_input(std::string_view body);

// POST /api/{collection}/allocations: an allocation body plus
// `"candidates"`: an array of 1 to max_candidates distinct resource ids
// (UUIDs, returned in lower case). Anything else is error(invalid) naming
// `candidates` or `candidates[i]`.
inline constexpr std::size_t max_candidates = 100;
struct any_free_input {
    allocation_input allocation;
    std::vector<std::string> candidates;  // empty: not given
};
any_free_input decode_any_free_input(std::string_view body);

// Canonical JSON object text of validated attributes (keys sorted).
std::string encode_attributes(const attribute_map& attributes);
// Parses stored attribute JSON back (used when a plugin check needs them).
attribute_map decode_stored_attributes(std::string_view json);

std::string encode_resource(const resource& r);
std::string encode_resources(const std::vector<resource>& rs);
std::string encode_allocation(const allocation& a, std::string_view resource_type);
std::string encode_allocations(const std::vector<allocation>& as, std::string_view resource_type);

// One list page: a JSON array of the leading items whose text fits in
// `max_bytes` (always at least the first one, if any), and how many those
// are; the caller's Link carries on after the last one.
struct encoded_page {
    std::string json;
    std::size_t items = 0;
};
encoded_page encode_resource_page(const std::vector<resource>& rs, std::size_t max_bytes);
encoded_page encode_allocation_page(const std::vector<allocation>& as,
                                    std::string_view resource_type, std::size_t max_bytes);

// GET /api/audit: `[{id, time, key: {id, name}, request_id, method, route,
// action, entity_kind, entity_id, resource_id, before, after}]`, newest
// first as given.
encoded_page encode_audit_page(const std::vector<audit_entry>& entries, std::size_t max_bytes);

// GET /{collection}/{id}/free: `[{from_datetime, to_datetime}]`, an open
// end as null.
std::string encode_free_gaps(const std::vector<std::pair<std::int64_t, std::int64_t>>& gaps);

// GET /api/types: `[{resource_type, collection, attributes: <JSON Schema>,
// rules: {allocation_types, durations, buffer_before_seconds, …}}]`.
struct type_description {
    std::string type_name;
    std::string collection;
    std::vector<attribute_spec> attributes;
    allocation_rules rules = {};
};
std::string encode_types(const std::vector<type_description>& types);
// The JSON Schema (draft 2020-12) object of one type's attributes.
std::string encode_attribute_schema(const std::vector<attribute_spec>& attributes);
// The `rules` object of one type as GET /api/types shows it.
std::string encode_type_rules(const allocation_rules& rules);

// POST /api/keys {"name", "role"}: both required strings (their values
// are checked by auth/keys.hpp).
struct key_input {
    std::optional<std::string> name;
    std::optional<std::string> role;
};
key_input decode_key_input(std::string_view body);
// {"id","name","role","created","last_used"} and, when `secret` is given
// (only in the answer that creates the key), "key".
std::string encode_key(const api_key& k, const std::string* secret);
std::string encode_keys(const std::vector<api_key>& keys);

// The one JSON log line of a request (never a secret: the key's name and
// id). Views: the caller keeps the text alive until encode_request_log
// returns (one line per request, so nothing is copied to make it).
struct request_log_record {
    std::string_view time;  // RFC 3339 UTC with microseconds
    long long pid = 0;
    std::string_view request_id;
    std::string_view method;
    std::string_view route;  // the route pattern, "unmatched" when none
    int status = 0;
    std::uint64_t duration_us = 0;
    std::string_view key_name;  // empty: no key
    std::string_view key_id;
};
std::string encode_request_log(const request_log_record& record);

// RFC 9457 problem body for `failure`, answered with `status` (the caller's
// mapping of its code) and that status's title.
std::string encode_problem(const error& failure, int status);

// The canonical text of a JSON body, so that two bodies that are
// JSON-equal have the same text: members sorted by key (bytewise UTF-8),
// no white space, strings re-escaped one way (so "\u00e9" equals "é").
// Numbers stay as written: 1 and 1.0 differ, as they come back from a
// `dump` as written. nullopt when the text is not JSON parse_json accepts.
std::optional<std::string> canonical_json(std::string_view text);

// A flat object of string members, e.g. {"status":"ok","database":"sqlite"}.
std::string encode_string_object(const std::vector<std::pair<std::string, std::string>>& members);

}  // namespace invsys
