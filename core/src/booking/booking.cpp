#include "booking/booking.hpp"

#include <algorithm>

#include "audit/audit.hpp"
#include "booking/attribute_validation.hpp"
#include "booking/rules.hpp"
#include "booking/type_rules.hpp"
#include "json/codec.hpp"
#include "time/timestamp.hpp"
#include "util/uuid.hpp"

namespace invsys {
namespace {

std::string attributes_json(const loaded_type& type, const resource_input& input) {
    static const std::vector<std::pair<std::string, raw_attribute>> none;
    return encode_attributes(
        validate_attributes(type, input.attributes ? *input.attributes : none));
}

// The store is asked for one row more than the page holds: whether it came
// tells whether more follow, without a count.
template <typename Row>
page_of<Row> page_from(std::vector<Row> rows, std::size_t limit) {
    page_of<Row> page;
    page.more = rows.size() > limit;
    if (page.more) rows.resize(limit);
    page.rows = std::move(rows);
    return page;
}

error allocation_not_found_here(const loaded_type& type, std::string_view allocation_id) {
    return error(error_code::not_found, "no allocation with id " + std::string(allocation_id) +
                                            " on this " + type.type_name);
}

// 412 unless If-Match names the stored version.
void require_version(std::int64_t stored, const version_condition& expected) {
    if (!expected.holds(stored)) {
        throw error(
            error_code::precondition_failed,
            "the stored version (" + std::to_string(stored) + ") is not one that If-Match names");
    }
}

// Every allocation of a resource, in listing order, as the audit shows
// them: what deleting the resource removes with it.
void record_removed_allocations(store& db, const loaded_type& type, std::string_view resource_id,
                                std::string_view action) {
    constexpr std::size_t batch = 1000;  // rows per read: bounded memory
    std::optional<std::string> after;
    for (;;) {
        const std::vector<allocation> rows = db.list_allocations(resource_id, {}, after, batch);
        for (const allocation& a : rows) {
            record_change(db,
                          {audited::allocation, std::string(action), a.id, std::string(resource_id),
                           encode_allocation(a, type.type_name), std::nullopt});
        }
        if (rows.size() < batch) return;
        after = rows.back().id;
    }
}

}  // namespace

resource require_resource(store& db, const loaded_type& type, std::string_view id) {
    auto found = db.find_resource(type.type_name, id);
    if (!found)
        throw error(error_code::not_found, "no " + type.type_name + " with id " + std::string(id));
    return std::move(*found);
}

page_of<resource> list_resources(store& db, const loaded_type& type,
                                 const std::optional<std::string>& after, std::size_t limit) {
    return page_from(db.list_resources(type.type_name, after, limit + 1), limit);
}

resource create_resource(store& db, const loaded_type& type, const resource_input& input) {
    std::vector<field_error> errors;
    if (!input.name) {
        errors.push_back({"name", "is required"});
    } else {
        check_name(*input.name, errors);
    }
    if (!errors.empty()) throw_invalid(std::move(errors));

    resource created;
    created.attributes_json = attributes_json(type, input);
    created.id = new_uuid();
    created.resource_type = type.type_name;
    created.name = *input.name;
    created.created_us = now_micros();
    db.in_one_transaction("create resource", [&] {
        db.insert_resource(created);
        record_change(db, {audited::resource, "create", created.id, created.id, std::nullopt,
                           encode_resource(created)});
    });
    return created;
}

resource update_resource(store& db, const loaded_type& type, std::string_view id,
                         const resource_input& input, const version_condition& expected) {
    std::vector<field_error> errors;
    if (input.name) check_name(*input.name, errors);
    if (!errors.empty()) throw_invalid(std::move(errors));
    // Validate before the lookup: a bad body is 400 whether or not the id exists.
    const std::optional<std::string> new_attributes =
        input.attributes ? std::optional(attributes_json(type, input)) : std::nullopt;

    // Merged with the row as the write transaction reads it: a concurrent
    // PATCH of the other field is kept.
    resource updated;
    db.in_one_transaction("update resource", [&] {
        std::optional<std::string> before;
        updated = db.modify_resource(type.type_name, id, [&](resource& stored) {
            require_version(stored.version, expected);
            before = encode_resource(stored);
            if (input.name) stored.name = *input.name;
            if (new_attributes) stored.attributes_json = *new_attributes;
            return input.name || new_attributes;
        });
        if (input.name || new_attributes) {
            record_change(db, {audited::resource, "update", updated.id, updated.id,
                               std::move(before), encode_resource(updated)});
        }
    });
    return updated;
}

void delete_resource(store& db, const loaded_type& type, std::string_view id,
                     resource_deletion mode, const version_condition& expected) {
    const bool force = mode == resource_deletion::with_allocations;
    const char* action = force ? "force-delete" : "delete";
    db.in_one_transaction("delete resource", [&] {
        const std::optional<resource> before = db.find_resource(type.type_name, id);
        // What goes with it (past allocations go even without force), read
        // before they are gone; a refused delete rolls these records back.
        if (before) record_removed_allocations(db, type, id, action);
        db.delete_resource(type.type_name, id, force, now_micros(), expected);
        if (!before) return;  // delete_resource refused it already
        record_change(db, {audited::resource, action, before->id, before->id,
                           encode_resource(*before), std::nullopt});
    });
}

allocation require_allocation(store& db, const loaded_type& type, std::string_view resource_id,
                              std::string_view allocation_id) {
    auto found = db.find_allocation(resource_id, allocation_id);
    if (!found) throw allocation_not_found_here(type, allocation_id);
    return std::move(*found);
}

page_of<allocation> list_allocations(store& db, const loaded_type& type,
                                     std::string_view resource_id, const allocation_filter& filter,
                                     const std::optional<std::string>& after, std::size_t limit) {
    require_resource(db, type, resource_id);
    return page_from(db.list_allocations(resource_id, filter, after, limit + 1), limit);
}

allocation book(store& db, const loaded_type& type, std::string_view resource_id,
                const allocation_input& input) {
    allocation created;
    apply_allocation_input(input, allocation_change::create, type, created);
    require_resource(db, type, resource_id);

    created.id = new_uuid();
    created.resource_id = std::string(resource_id);
    created.created_us = now_micros();
    db.in_one_transaction("book", [&] {
        db.insert_allocation(created);
        record_change(db, {audited::allocation, "create", created.id, created.resource_id,
                           std::nullopt, encode_allocation(created, type.type_name)});
    });
    return created;
}

allocation reschedule(store& db, const loaded_type& type, std::string_view resource_id,
                      std::string_view allocation_id, const allocation_input& input,
                      const version_condition& expected) {
    require_resource(db, type, resource_id);
    try {
        allocation updated;
        db.in_one_transaction("reschedule", [&] {
            std::optional<std::string> before;
            // Merged with the row as the write transaction reads it.
            updated = db.modify_allocation(resource_id, allocation_id, [&](allocation& stored) {
                require_version(stored.version, expected);
                before = encode_allocation(stored, type.type_name);
                apply_allocation_input(input, allocation_change::update, type, stored);
                return true;
            });
            record_change(db, {audited::allocation, "update", updated.id, updated.resource_id,
                               std::move(before), encode_allocation(updated, type.type_name)});
        });
        return updated;
    } catch (const error& failure) {
        if (failure.code() != error_code::not_found) throw;
        throw allocation_not_found_here(type, allocation_id);
    }
}

page_of<resource> list_available(store& db, const loaded_type& type, interval window,
                                 const std::optional<std::string>& after, std::size_t limit) {
    return page_from(db.list_available_resources(type.type_name, blocked_window(type.rules, window),
                                                 after, limit + 1),
                     limit);
}

free_gaps_page free_gaps(store& db, const loaded_type& type, std::string_view resource_id,
                         interval window, std::size_t limit) {
    require_resource(db, type, resource_id);
    const store::blocked_page blocked = db.blocked_ranges(resource_id, window, limit);
    free_gaps_page page;
    std::int64_t cursor = window.from;  // where the next gap may start
    for (const interval& range : blocked.ranges) {
        if (range.from > cursor) page.gaps.push_back({cursor, std::min(range.from, window.to)});
        cursor = std::max(cursor, range.to);
    }
    if (!blocked.more && cursor < window.to) page.gaps.push_back({cursor, window.to});
    if (page.gaps.size() > limit) {
        page.gaps.resize(limit);
        page.more = true;
        page.next_from = page.gaps.back().to;
    } else if (blocked.more && cursor < window.to) {
        page.more = true;
        page.next_from = cursor;
    }
    return page;
}

allocation book_any(store& db, const loaded_type& type, const allocation_input& input,
                    const std::vector<std::string>& candidates) {
    allocation created;
    apply_allocation_input(input, allocation_change::create, type, created);
    created.id = new_uuid();
    created.created_us = now_micros();
    db.in_one_transaction("book any free one", [&] {
        created.resource_id =
            db.insert_allocation_on_first_free(created, type.type_name, candidates);
        record_change(db, {audited::allocation, "create", created.id, created.resource_id,
                           std::nullopt, encode_allocation(created, type.type_name)});
    });
    return created;
}

void cancel(store& db, const loaded_type& type, std::string_view resource_id,
            std::string_view allocation_id, const version_condition& expected) {
    require_resource(db, type, resource_id);
    db.in_one_transaction("cancel", [&] {
        const std::optional<allocation> before = db.find_allocation(resource_id, allocation_id);
        db.delete_allocation(resource_id, allocation_id, expected);
        if (!before) return;
        record_change(db, {audited::allocation, "delete", before->id, before->resource_id,
                           encode_allocation(*before, type.type_name), std::nullopt});
    });
}

}  // namespace invsys
