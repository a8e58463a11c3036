// API keys in and out of the API (POST/GET /api/keys), and the service's
// one JSON log line per request.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <set>

#include "json/codec.hpp"
#include "json/json_reader.hpp"
#include "json/writer.hpp"
#include "time/timestamp.hpp"

namespace invsys {
namespace {

void write_key_object(json_writer& w, const api_key& k, const std::string* secret) {
    w.StartObject();
    write_key(w, "id");
    write_string(w, k.id);
    write_key(w, "name");
    write_string(w, k.name);
    write_key(w, "role");
    write_string(w, k.role);
    write_key(w, "created");
    write_string(w, format_timestamp(k.created_us));
    write_key(w, "last_used");
    if (k.last_used_us)
        write_string(w, format_timestamp(*k.last_used_us));
    else
        w.Null();
    if (secret != nullptr) {
        write_key(w, "key");
        write_string(w, *secret);
    }
    w.EndObject();
}

}  // namespace

key_input decode_key_input(std::string_view body) {
    rapidjson::Document document;
    parse_json(body, document);
    if (!document.IsObject())
        throw error(error_code::invalid, "request body must be a JSON object");
    key_input input;
    field_error_list errors;
    std::set<std::string_view> seen, reported;
    for (const auto& m : document.GetObject()) {
        const std::string_view field(m.name.GetString(), m.name.GetStringLength());
        if (!seen.insert(field).second) {
            errors.add(field, "given more than once");
            continue;
        }
        std::optional<std::string>* target = field == "name"   ? &input.name
                                             : field == "role" ? &input.role
                                                               : nullptr;
        if (target == nullptr) {
            errors.add(field, "unknown field");
        } else if (m.value.IsNull()) {
            continue;
        } else if (!is_text(m.value)) {
            errors.add(field, "must be a string");
            reported.insert(field);
        } else {
            target->emplace(m.value.GetString(), m.value.GetStringLength());
        }
    }
    // A null counts as absent (API.md).
    if (!input.name && !reported.count("name")) errors.add("name", "is required");
    if (!input.role && !reported.count("role")) errors.add("role", "is required");
    std::move(errors).throw_if_any();
    return input;
}

std::string encode_key(const api_key& k, const std::string* secret) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    write_key_object(w, k, secret);
    return {buffer.GetString(), buffer.GetSize()};
}

std::string encode_keys(const std::vector<api_key>& keys) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    w.StartArray();
    for (const api_key& k : keys) write_key_object(w, k, nullptr);
    w.EndArray();
    return {buffer.GetString(), buffer.GetSize()};
}

std::string encode_request_log(const request_log_record& r) {
    // A typical line is about 250 bytes: one buffer per thread, reserved
    // once and kept (unless a line was unusually long), not one per request.
    thread_local rapidjson::StringBuffer buffer;
    const bool was_long = buffer.GetSize() > 4096;
    buffer.Clear();
    if (was_long) buffer.ShrinkToFit();
    buffer.Reserve(384);
    json_writer w(buffer);
    w.StartObject();
    write_key(w, "time");
    write_string(w, r.time);
    write_key(w, "pid");
    w.Int64(r.pid);
    write_key(w, "request_id");
    write_string(w, r.request_id);
    write_key(w, "method");
    write_string(w, r.method);
    write_key(w, "route");
    write_string(w, r.route);
    write_key(w, "status");
    w.Int(r.status);
    write_key(w, "duration_ms");
    w.Double(static_cast<double>(r.duration_us) / 1000.0);
    write_key(w, "key");
    if (r.key_name.empty())
        w.Null();
    else
        write_string(w, r.key_name);
    write_key(w, "key_id");
    if (r.key_id.empty())
        w.Null();
    else
        write_string(w, r.key_id);
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace invsys
