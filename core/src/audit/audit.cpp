#include "audit/audit.hpp"

#include "time/timestamp.hpp"
#include "util/uuid.hpp"

namespace invsys {
namespace {

thread_local const change_origin* current = nullptr;

const char* kind_name(audited kind) {
    switch (kind) {
        case audited::resource:
            return "resource";
        case audited::allocation:
            return "allocation";
        case audited::key:
            return "key";
    }
    return "resource";
}

}  // namespace

origin_scope::origin_scope(change_origin origin) : origin_(std::move(origin)), outer_(current) {
    current = &origin_;
}

origin_scope::~origin_scope() { current = outer_; }

const change_origin& current_origin() {
    static const change_origin unknown{"", "unknown", "", "", ""};
    return current != nullptr ? *current : unknown;
}

void record_change(store& db, const change_record& change) {
    const change_origin& origin = current_origin();
    audit_entry e;
    e.id = new_uuid();
    e.at_us = now_micros();
    e.key_id = origin.key_id;
    e.key_name = origin.key_name;
    e.request_id = origin.request_id;
    e.method = origin.method;
    e.route = origin.route;
    e.action = change.action;
    e.entity_kind = kind_name(change.kind);
    e.entity_id = change.entity_id;
    e.resource_id = change.resource_id;
    e.before_json = change.before_json;
    e.after_json = change.after_json;
    db.insert_audit_entry(e);
}

}  // namespace invsys
