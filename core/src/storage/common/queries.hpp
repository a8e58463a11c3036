// The stores' statements, each prepared once per connection with its bound
// variables beside it: set the inputs, execute, read the outputs. SOCI
// binds by reference, so an object never moves once built (the cache holds
// it by unique_ptr). Each is a template on the backend's SQL (Sql, a
// common_sql), whose Sql::shape (a statement_shape) says how the statements
// that differ are shaped:
//
//   rows_carry_total  the statements listing ids (ending_after,
//                     overlapping, ending_inside) return each with the full
//                     count (count(*) OVER ()); else a separate count_*
//                     statement counts.
//   seek_names_self   first_ending_after excludes :self and returns the id.
//   writes_report     insert_resource returns seq (no row when the name is
//                     taken); insert_allocation returns (resource found,
//                     rows inserted).
//
// Private to storage/.
#pragma once

#include <soci/soci.h>

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "model.hpp"
#include "storage/common/conflicts.hpp"
#include "storage/common/sql.hpp"

namespace invsys::queries {

// SOCI's statement-level API: exchange the bindings, then prepare once;
// every execute() reads the bound variables afresh.
inline void prepare(soci::statement& st, const char* sql) {
    st.alloc();
    st.prepare(sql);
    st.define_and_bind();
}

struct resource_row {
    std::string id, resource_type, name, attributes;
    long long created_us = 0;
    long long version = 1;  // read only: writes leave it to the SQL

    void bind(soci::statement& st) {
        st.exchange(soci::into(id));
        st.exchange(soci::into(resource_type));
        st.exchange(soci::into(name));
        st.exchange(soci::into(attributes));
        st.exchange(soci::into(created_us));
        st.exchange(soci::into(version));
    }
    resource value() const {
        return resource{id, resource_type, name, attributes, created_us, version};
    }
};

struct allocation_row {
    std::string id, resource_id, allocation_type, description, dump;
    long long from_us = 0, to_us = 0, created_us = 0;
    long long blocked_from_us = 0, blocked_to_us = 0;
    long long version = 1;  // read only: writes leave it to the SQL
    soci::indicator description_ind = soci::i_null, dump_ind = soci::i_null;

    void bind(soci::statement& st) {
        st.exchange(soci::into(id));
        st.exchange(soci::into(resource_id));
        st.exchange(soci::into(from_us));
        st.exchange(soci::into(to_us));
        st.exchange(soci::into(allocation_type));
        st.exchange(soci::into(description, description_ind));
        st.exchange(soci::into(dump, dump_ind));
        st.exchange(soci::into(created_us));
        st.exchange(soci::into(blocked_from_us));
        st.exchange(soci::into(blocked_to_us));
        st.exchange(soci::into(version));
    }
    allocation value() const {
        allocation a{id,           resource_id,  from_us,    to_us,  allocation_type,
                     std::nullopt, std::nullopt, created_us, version};
        if (description_ind == soci::i_ok) a.description = description;
        if (dump_ind == soci::i_ok) a.dump_json = dump;
        a.buffer_before_us = from_us - blocked_from_us;
        a.buffer_after_us = blocked_to_us - to_us;
        return a;
    }
};

// A statement without parameters or results.
struct fixed_statement {
    soci::statement st;
    fixed_statement(soci::session& s, const char* sql) : st(s) { prepare(st, sql); }
    void run() { st.execute(true); }
};

template <class Sql>
struct begin_immediate : fixed_statement {
    explicit begin_immediate(soci::session& s) : fixed_statement(s, Sql::begin_immediate) {}
};
template <class Sql>
struct commit : fixed_statement {
    explicit commit(soci::session& s) : fixed_statement(s, Sql::commit) {}
};
template <class Sql>
struct rollback : fixed_statement {
    explicit rollback(soci::session& s) : fixed_statement(s, Sql::rollback) {}
};
// SQLite's commit groups: a member's own savepoint.
template <class Sql>
struct savepoint : fixed_statement {
    explicit savepoint(soci::session& s) : fixed_statement(s, Sql::savepoint) {}
};
template <class Sql>
struct release_savepoint : fixed_statement {
    explicit release_savepoint(soci::session& s) : fixed_statement(s, Sql::release_savepoint) {}
};
template <class Sql>
struct rollback_to_savepoint : fixed_statement {
    explicit rollback_to_savepoint(soci::session& s)
        : fixed_statement(s, Sql::rollback_to_savepoint) {}
};
template <class Sql>
struct ping : fixed_statement {
    explicit ping(soci::session& s) : fixed_statement(s, Sql::ping) {}
};

// --- resources -------------------------------------------------------------

// (:id, :type) -> the resource.
struct resource_by_id {
    std::string id, type;
    resource_row row;
    soci::statement st;
    resource_by_id(soci::session& s, const char* sql) : st(s) {
        st.exchange(soci::use(id, "id"));
        st.exchange(soci::use(type, "type"));
        row.bind(st);
        prepare(st, sql);
    }
};
template <class Sql>
struct find_resource : resource_by_id {
    explicit find_resource(soci::session& s) : resource_by_id(s, Sql::find_resource) {}
};
// find_resource, holding the row until the transaction ends where the
// backend needs that.
template <class Sql>
struct find_resource_for_update : resource_by_id {
    explicit find_resource_for_update(soci::session& s)
        : resource_by_id(s, Sql::find_resource_for_update) {}
};

// (:id, :type) -> seq: resource_seq and lock_resource.
struct seq_of_resource {
    std::string id, type;
    long long seq = 0;
    soci::statement st;
    seq_of_resource(soci::session& s, const char* sql) : st(s) {
        st.exchange(soci::use(id, "id"));
        st.exchange(soci::use(type, "type"));
        st.exchange(soci::into(seq));
        prepare(st, sql);
    }
};
template <class Sql>
struct resource_seq : seq_of_resource {
    explicit resource_seq(soci::session& s) : seq_of_resource(s, Sql::resource_seq) {}
};
// resource_seq, holding the row until the transaction ends where the
// backend needs that.
template <class Sql>
struct lock_resource : seq_of_resource {
    explicit lock_resource(soci::session& s) : seq_of_resource(s, Sql::lock_resource) {}
};

// (:id) -> seq of any resource.
struct seq_of_any_resource {
    std::string id;
    long long seq = 0;
    soci::statement st;
    seq_of_any_resource(soci::session& s, const char* sql) : st(s) {
        st.exchange(soci::use(id, "id"));
        st.exchange(soci::into(seq));
        prepare(st, sql);
    }
};
template <class Sql>
struct resource_exists : seq_of_any_resource {
    explicit resource_exists(soci::session& s) : seq_of_any_resource(s, Sql::resource_exists) {}
};
// resource_exists, locking the resource as its allocation writers do where
// the backend needs that.
template <class Sql>
struct lock_allocations_of : seq_of_any_resource {
    explicit lock_allocations_of(soci::session& s)
        : seq_of_any_resource(s, Sql::lock_allocations_of) {}
};

template <class Sql>
struct list_resources {
    std::string type;
    long long after_seq = 0, limit = 0;
    resource_row row;
    soci::statement st;
    explicit list_resources(soci::session& s) : st(s) {
        st.exchange(soci::use(type, "type"));
        st.exchange(soci::use(after_seq, "after_seq"));
        st.exchange(soci::use(limit, "limit"));
        row.bind(st);
        prepare(st, Sql::list_resources);
    }
};

template <class Sql>
struct name_holder {
    std::string type, name, self;
    std::string id;
    soci::statement st;
    explicit name_holder(soci::session& s) : st(s) {
        st.exchange(soci::use(type, "type"));
        st.exchange(soci::use(name, "name"));
        st.exchange(soci::use(self, "self"));
        st.exchange(soci::into(id));
        prepare(st, Sql::name_holder);
    }
};

template <class Sql>
struct insert_resource {
    resource_row in;
    long long seq = 0;  // with Sql::shape.writes_report
    soci::statement st;
    explicit insert_resource(soci::session& s) : st(s) {
        st.exchange(soci::use(in.id, "id"));
        st.exchange(soci::use(in.resource_type, "type"));
        st.exchange(soci::use(in.name, "name"));
        st.exchange(soci::use(in.attributes, "attributes"));
        st.exchange(soci::use(in.created_us, "created_us"));
        if (Sql::shape.writes_report) st.exchange(soci::into(seq));
        prepare(st, Sql::insert_resource);
    }
};

template <class Sql>
struct update_resource {
    resource_row in;
    soci::statement st;
    explicit update_resource(soci::session& s) : st(s) {
        st.exchange(soci::use(in.id, "id"));
        st.exchange(soci::use(in.resource_type, "type"));
        st.exchange(soci::use(in.name, "name"));
        st.exchange(soci::use(in.attributes, "attributes"));
        prepare(st, Sql::update_resource);
    }
};

template <class Sql>
struct delete_resource {
    std::string id;
    soci::statement st;
    explicit delete_resource(soci::session& s) : st(s) {
        st.exchange(soci::use(id, "id"));
        prepare(st, Sql::delete_resource);
    }
};

// --- allocations -----------------------------------------------------------

template <class Sql>
struct first_ending_after {
    std::string resource_id, self;  // self: with Sql::shape.seek_names_self
    long long after = 0;
    std::string id;  // with Sql::shape.seek_names_self
    long long from_us = 0, to_us = 0, seq = 0;
    soci::statement st;
    explicit first_ending_after(soci::session& s) : st(s) {
        st.exchange(soci::use(resource_id, "resource_id"));
        st.exchange(soci::use(after, "after"));
        if (Sql::shape.seek_names_self) {
            st.exchange(soci::use(self, "self"));
            st.exchange(soci::into(id));
        }
        st.exchange(soci::into(from_us));
        st.exchange(soci::into(to_us));
        st.exchange(soci::into(seq));
        prepare(st, Sql::first_ending_after);
    }
};

// SQLite's overlap seek on the blocked range (sqlite_sql::first_blocked_ending_after).
template <class Sql>
struct first_blocked_ending_after {
    std::string resource_id, self;
    long long after = 0;
    std::string id;
    long long blocked_from_us = 0;
    soci::statement st;
    explicit first_blocked_ending_after(soci::session& s) : st(s) {
        st.exchange(soci::use(resource_id, "resource_id"));
        st.exchange(soci::use(after, "after"));
        st.exchange(soci::use(self, "self"));
        st.exchange(soci::into(id));
        st.exchange(soci::into(blocked_from_us));
        prepare(st, Sql::first_blocked_ending_after);
    }
};

// --- availability (common_sql) -----------------------------------------------

template <class Sql>
struct available_resources {
    std::string type;
    long long after_seq = 0, from = 0, to = 0, limit = 0;
    resource_row row;
    soci::statement st;
    explicit available_resources(soci::session& s) : st(s) {
        st.exchange(soci::use(type, "type"));
        st.exchange(soci::use(after_seq, "after_seq"));
        st.exchange(soci::use(from, "from"));
        st.exchange(soci::use(to, "to"));
        st.exchange(soci::use(limit, "limit"));
        row.bind(st);
        prepare(st, Sql::available_resources);
    }
};

template <class Sql>
struct available_resource_ids {
    std::string type;
    long long after_seq = 0, from = 0, to = 0, limit = 0;
    std::string id;
    long long seq = 0;
    soci::statement st;
    explicit available_resource_ids(soci::session& s) : st(s) {
        st.exchange(soci::use(type, "type"));
        st.exchange(soci::use(after_seq, "after_seq"));
        st.exchange(soci::use(from, "from"));
        st.exchange(soci::use(to, "to"));
        st.exchange(soci::use(limit, "limit"));
        st.exchange(soci::into(id));
        st.exchange(soci::into(seq));
        prepare(st, Sql::available_resource_ids);
    }
};

template <class Sql>
struct resource_free {
    std::string id;
    long long from = 0, to = 0;
    long long seq = 0;
    soci::statement st;
    explicit resource_free(soci::session& s) : st(s) {
        st.exchange(soci::use(id, "id"));
        st.exchange(soci::use(from, "from"));
        st.exchange(soci::use(to, "to"));
        st.exchange(soci::into(seq));
        prepare(st, Sql::resource_free);
    }
};

template <class Sql>
struct blocked_in_window {
    std::string resource_id;
    long long from = 0, to = 0, limit = 0;
    long long blocked_from = 0, blocked_to = 0;
    soci::statement st;
    explicit blocked_in_window(soci::session& s) : st(s) {
        st.exchange(soci::use(resource_id, "resource_id"));
        st.exchange(soci::use(from, "from"));
        st.exchange(soci::use(to, "to"));
        st.exchange(soci::use(limit, "limit"));
        st.exchange(soci::into(blocked_from));
        st.exchange(soci::into(blocked_to));
        prepare(st, Sql::blocked_in_window);
    }
};

// The inputs (:resource_id, :from, :to, :self) naming a's blocked range
// [blocked_from(a), blocked_to(a)) on a's resource, a itself excluded.
struct range_of {
    std::string resource_id, self;
    long long from = 0, to = 0;

    void bind(soci::statement& st) {
        st.exchange(soci::use(resource_id, "resource_id"));
        st.exchange(soci::use(from, "from"));
        st.exchange(soci::use(to, "to"));
        st.exchange(soci::use(self, "self"));
    }
    void set(const allocation& a) {
        resource_id = a.resource_id;
        self = a.id;
        from = blocked_from(a);
        to = blocked_to(a);
    }
};

// (range, :limit) -> id [, total]: the allocations in the way of a range,
// capped by :limit.
struct allocations_in_range {
    range_of range;
    long long limit = 0;
    std::string id;
    const bool carries_total;
    long long total = 0;  // with carries_total
    soci::statement st;
    allocations_in_range(soci::session& s, const char* sql, const statement_shape& shape)
        : carries_total(shape.rows_carry_total), st(s) {
        range.bind(st);
        st.exchange(soci::use(limit, "limit"));
        st.exchange(soci::into(id));
        if (carries_total) st.exchange(soci::into(total));
        prepare(st, sql);
    }
};
template <class Sql>
struct ending_inside : allocations_in_range {
    explicit ending_inside(soci::session& s)
        : allocations_in_range(s, Sql::ending_inside, Sql::shape) {}
};
template <class Sql>
struct overlapping : allocations_in_range {
    explicit overlapping(soci::session& s)
        : allocations_in_range(s, Sql::overlapping, Sql::shape) {}
};

template <class Sql>
struct count_ending_inside {
    range_of range;
    long long count = 0;
    soci::statement st;
    explicit count_ending_inside(soci::session& s) : st(s) {
        range.bind(st);
        st.exchange(soci::into(count));
        prepare(st, Sql::count_ending_inside);
    }
};

template <class Sql>
struct ending_after {
    std::string resource_id;
    long long now = 0, limit = 0;
    std::string id;
    static constexpr bool carries_total = Sql::shape.rows_carry_total;
    long long total = 0;  // with carries_total
    soci::statement st;
    explicit ending_after(soci::session& s) : st(s) {
        st.exchange(soci::use(resource_id, "resource_id"));
        st.exchange(soci::use(now, "now"));
        st.exchange(soci::use(limit, "limit"));
        st.exchange(soci::into(id));
        if (carries_total) st.exchange(soci::into(total));
        prepare(st, Sql::ending_after);
    }
};

template <class Sql>
struct count_ending_after {
    std::string resource_id;
    long long now = 0;
    long long count = 0;
    soci::statement st;
    explicit count_ending_after(soci::session& s) : st(s) {
        st.exchange(soci::use(resource_id, "resource_id"));
        st.exchange(soci::use(now, "now"));
        st.exchange(soci::into(count));
        prepare(st, Sql::count_ending_after);
    }
};

// (:id, :resource_id) -> the allocation.
struct allocation_by_id {
    std::string id, resource_id;
    allocation_row row;
    soci::statement st;
    allocation_by_id(soci::session& s, const char* sql) : st(s) {
        st.exchange(soci::use(id, "id"));
        st.exchange(soci::use(resource_id, "resource_id"));
        row.bind(st);
        prepare(st, sql);
    }
};
template <class Sql>
struct find_allocation : allocation_by_id {
    explicit find_allocation(soci::session& s) : allocation_by_id(s, Sql::find_allocation) {}
};
template <class Sql>
struct find_allocation_for_update : allocation_by_id {
    explicit find_allocation_for_update(soci::session& s)
        : allocation_by_id(s, Sql::find_allocation_for_update) {}
};

template <class Sql>
struct allocation_key {
    std::string id, resource_id;
    long long from_us = 0, to_us = 0, seq = 0;
    soci::statement st;
    explicit allocation_key(soci::session& s) : st(s) {
        st.exchange(soci::use(id, "id"));
        st.exchange(soci::use(resource_id, "resource_id"));
        st.exchange(soci::into(from_us));
        st.exchange(soci::into(to_us));
        st.exchange(soci::into(seq));
        prepare(st, Sql::allocation_key);
    }
};

template <class Sql>
struct list_allocations {
    std::string resource_id, type;
    soci::indicator type_ind = soci::i_null;
    long long after_from = 0, after_to = 0, after_seq = 0;
    long long window_from = 0, window_to = 0, limit = 0;
    allocation_row row;
    soci::statement st;
    explicit list_allocations(soci::session& s) : st(s) {
        st.exchange(soci::use(resource_id, "resource_id"));
        st.exchange(soci::use(after_from, "after_from"));
        st.exchange(soci::use(after_to, "after_to"));
        st.exchange(soci::use(after_seq, "after_seq"));
        st.exchange(soci::use(window_from, "window_from"));
        st.exchange(soci::use(window_to, "window_to"));
        st.exchange(soci::use(type, type_ind, "type"));
        st.exchange(soci::use(limit, "limit"));
        row.bind(st);
        prepare(st, Sql::list_allocations);
    }
};

// Insert and update share their bindings; update has no created_us and
// no results.
struct write_allocation {
    allocation_row in;
    long long found = 0, inserted = 0;  // insert's results, with `report`
    soci::statement st;
    enum class kind { insert, update };
    write_allocation(soci::session& s, const char* sql, kind what, bool report) : st(s) {
        st.exchange(soci::use(in.id, "id"));
        st.exchange(soci::use(in.resource_id, "resource_id"));
        st.exchange(soci::use(in.from_us, "from_us"));
        st.exchange(soci::use(in.to_us, "to_us"));
        st.exchange(soci::use(in.allocation_type, "allocation_type"));
        st.exchange(soci::use(in.description, in.description_ind, "description"));
        st.exchange(soci::use(in.dump, in.dump_ind, "dump"));
        st.exchange(soci::use(in.blocked_from_us, "blocked_from_us"));
        st.exchange(soci::use(in.blocked_to_us, "blocked_to_us"));
        if (what == kind::insert) {
            st.exchange(soci::use(in.created_us, "created_us"));
            if (report) {
                st.exchange(soci::into(found));
                st.exchange(soci::into(inserted));
            }
        }
        prepare(st, sql);
    }
    void set(const allocation& a) {
        in.id = a.id;
        in.resource_id = a.resource_id;
        in.from_us = a.from_us;
        in.to_us = a.to_us;
        in.allocation_type = a.allocation_type;
        in.description_ind = a.description ? soci::i_ok : soci::i_null;
        in.description = a.description.value_or(std::string());
        in.dump_ind = a.dump_json ? soci::i_ok : soci::i_null;
        in.dump = a.dump_json.value_or(std::string());
        in.created_us = a.created_us;
        in.blocked_from_us = blocked_from(a);
        in.blocked_to_us = blocked_to(a);
    }
};
template <class Sql>
struct insert_allocation : write_allocation {
    explicit insert_allocation(soci::session& s)
        : write_allocation(s, Sql::insert_allocation, kind::insert, Sql::shape.writes_report) {}
};
template <class Sql>
struct update_allocation : write_allocation {
    explicit update_allocation(soci::session& s)
        : write_allocation(s, Sql::update_allocation, kind::update, false) {}
};

template <class Sql>
struct delete_allocation {
    std::string id, resource_id;
    soci::statement st;
    explicit delete_allocation(soci::session& s) : st(s) {
        st.exchange(soci::use(id, "id"));
        st.exchange(soci::use(resource_id, "resource_id"));
        prepare(st, Sql::delete_allocation);
    }
};

// --- the audit trail (common_sql) --------------------------------------------

// Prepared once per connection: every change writes an entry, a booking
// inside its commit group's turn, where compiling the INSERT each time (as
// a one-shot statement did) held up every writer queued behind it.
template <class Sql>
struct insert_audit_entry {
    audit_entry in;
    long long at = 0;
    std::string resource_id, before_json, after_json;  // "" when absent (the indicator says)
    soci::indicator resource_ind = soci::i_null, before_ind = soci::i_null,
                    after_ind = soci::i_null;
    soci::statement st;
    explicit insert_audit_entry(soci::session& s) : st(s) {
        st.exchange(soci::use(in.id, "id"));
        st.exchange(soci::use(at, "at"));
        st.exchange(soci::use(in.key_id, "key_id"));
        st.exchange(soci::use(in.key_name, "key_name"));
        st.exchange(soci::use(in.request_id, "request_id"));
        st.exchange(soci::use(in.method, "method"));
        st.exchange(soci::use(in.route, "route"));
        st.exchange(soci::use(in.action, "action"));
        st.exchange(soci::use(in.entity_kind, "kind"));
        st.exchange(soci::use(in.entity_id, "entity_id"));
        st.exchange(soci::use(resource_id, resource_ind, "resource_id"));
        st.exchange(soci::use(before_json, before_ind, "before_json"));
        st.exchange(soci::use(after_json, after_ind, "after_json"));
        prepare(st, Sql::insert_audit_entry);
    }
    void run(const audit_entry& e) {
        in = e;
        at = e.at_us;
        set(resource_id, resource_ind, e.resource_id);
        set(before_json, before_ind, e.before_json);
        set(after_json, after_ind, e.after_json);
        st.execute(true);
    }

  private:
    static void set(std::string& to, soci::indicator& ind, const std::optional<std::string>& v) {
        to = v.value_or(std::string());
        ind = v ? soci::i_ok : soci::i_null;
    }
};

// --- idempotency keys --------------------------------------------------------

template <class Sql>
struct purge_idempotency_keys {
    long long cutoff = 0, limit = 0;
    soci::statement st;
    explicit purge_idempotency_keys(soci::session& s) : st(s) {
        st.exchange(soci::use(cutoff, "cutoff"));
        st.exchange(soci::use(limit, "limit"));
        prepare(st, Sql::purge_idempotency_keys);
    }
};

template <class Sql>
struct insert_idempotency_key {
    std::string scope, key, fingerprint, owner;
    long long lease_until = 0, created_us = 0;
    soci::statement st;
    explicit insert_idempotency_key(soci::session& s) : st(s) {
        st.exchange(soci::use(scope, "scope"));
        st.exchange(soci::use(key, "key"));
        st.exchange(soci::use(fingerprint, "fingerprint"));
        st.exchange(soci::use(owner, "owner"));
        st.exchange(soci::use(lease_until, "lease_until"));
        st.exchange(soci::use(created_us, "created_us"));
        prepare(st, Sql::insert_idempotency_key);
    }
};

template <class Sql>
struct find_idempotency_key {
    std::string scope, key;
    std::string fingerprint, owner, headers, body;
    long long lease_until = 0, created_us = 0;
    int status = 0;
    soci::indicator status_ind = soci::i_null, headers_ind = soci::i_null, body_ind = soci::i_null;
    soci::statement st;
    explicit find_idempotency_key(soci::session& s) : st(s) {
        st.exchange(soci::use(scope, "scope"));
        st.exchange(soci::use(key, "key"));
        st.exchange(soci::into(fingerprint));
        st.exchange(soci::into(owner));
        st.exchange(soci::into(lease_until));
        st.exchange(soci::into(status, status_ind));
        st.exchange(soci::into(headers, headers_ind));
        st.exchange(soci::into(body, body_ind));
        st.exchange(soci::into(created_us));
        prepare(st, Sql::find_idempotency_key);
    }
};

template <class Sql>
struct take_over_idempotency_key {
    std::string scope, key, owner;
    long long lease_until = 0;
    soci::statement st;
    explicit take_over_idempotency_key(soci::session& s) : st(s) {
        st.exchange(soci::use(owner, "owner"));
        st.exchange(soci::use(lease_until, "lease_until"));
        st.exchange(soci::use(scope, "scope"));
        st.exchange(soci::use(key, "key"));
        prepare(st, Sql::take_over_idempotency_key);
    }
};

template <class Sql>
struct complete_idempotency_key {
    std::string scope, key, owner, headers, body;
    int status = 0;
    soci::statement st;
    explicit complete_idempotency_key(soci::session& s) : st(s) {
        st.exchange(soci::use(status, "status"));
        st.exchange(soci::use(headers, "headers"));
        st.exchange(soci::use(body, "body"));
        st.exchange(soci::use(scope, "scope"));
        st.exchange(soci::use(key, "key"));
        st.exchange(soci::use(owner, "owner"));
        prepare(st, Sql::complete_idempotency_key);
    }
};

template <class Sql>
struct forget_idempotency_key {
    std::string scope, key, owner;
    soci::indicator owner_ind = soci::i_null;  // null: whatever its state
    soci::statement st;
    explicit forget_idempotency_key(soci::session& s) : st(s) {
        st.exchange(soci::use(scope, "scope"));
        st.exchange(soci::use(key, "key"));
        st.exchange(soci::use(owner, owner_ind, "owner"));
        prepare(st, Sql::forget_idempotency_key);
    }
};

// Runs `q` (its inputs set) and collects its ids; the total is the rows'
// own count when they carry it, else how many came.
template <class Query>
capped_ids fetch_ids(Query& q) {
    capped_ids found;
    q.st.execute();
    while (q.st.fetch()) {
        found.ids.push_back(q.id);
        if (q.carries_total) found.total = q.total;
    }
    if (!q.carries_total) found.total = static_cast<long long>(found.ids.size());
    return found;
}

// One lazily prepared instance of each statement, per connection: a
// statement is prepared on first use, so a connection opened before
// migrate() never prepares against a missing table.
template <class... Query>
class cache {
  public:
    template <class Q>
    Q& get(soci::session& s) {
        auto& slot = std::get<std::unique_ptr<Q>>(slots_);
        if (!slot) slot = std::make_unique<Q>(s);
        last_ = &cache::template slot_of<Q>;
        return *slot;
    }

    // Destroys the statement last handed out (it is prepared again on next
    // use). For a statement whose execution failed: SOCI 4.0.3's
    // postgresql backend frees a statement's parameter buffers after a
    // successful execution or when the statement is destroyed, and loses
    // them when the next execution allocates new ones after a failure.
    void forget_last() noexcept {
        if (last_ != nullptr) (this->*last_)();
        last_ = nullptr;
    }

  private:
    template <class Q>
    void slot_of() noexcept {
        std::get<std::unique_ptr<Q>>(slots_).reset();
    }

    std::tuple<std::unique_ptr<Query>...> slots_;
    void (cache::*last_)() noexcept = nullptr;
};

// A backend's connection: its session and its statements.
template <class Cache>
class connection_base {
  public:
    connection_base(const connection_base&) = delete;
    connection_base& operator=(const connection_base&) = delete;

    soci::session& session() noexcept { return session_; }

    template <class Query>
    Query& query() {
        return statements_.template get<Query>(session_);
    }

    // Call after a statement failed: destroys the statement last used (see
    // cache::forget_last).
    void forget_failed_statement() noexcept { statements_.forget_last(); }

  protected:
    connection_base(const soci::backend_factory& factory, const std::string& connect_string)
        : session_(factory, connect_string) {}
    ~connection_base() = default;

    soci::session session_;  // declared first: the statements die before it
    Cache statements_;
};

}  // namespace invsys::queries
