// The PostgreSQL store's statements, each prepared once per connection (a
// server-side prepared statement) with its bound variables beside it: set
// the inputs, execute, read the outputs. SOCI binds by reference, so an
// object never moves once built (the cache holds it by unique_ptr). The
// same shape as sqlite_queries.hpp. Private to storage/.
#pragma once

#include <soci/soci.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <memory>
#include <string>
#include <tuple>

#include "model.hpp"
#include "storage/postgresql_sql.hpp"

namespace invsys::postgresql_queries {

// SOCI's statement-level API: exchange the bindings, then prepare once;
// every execute() reads the bound variables afresh.
inline void prepare(soci::statement& st, const char* sql) {
    st.alloc();
    st.prepare(sql);
    st.define_and_bind();
}

// A LIMIT for PostgreSQL's bigint.
inline long long sql_limit(std::size_t limit) {
    return static_cast<long long>(std::min<std::size_t>(limit, LLONG_MAX));
}

struct resource_row {
    std::string id, resource_type, name, attributes;
    long long created_us = 0;

    void bind(soci::statement& st) {
        st.exchange(soci::into(id));
        st.exchange(soci::into(resource_type));
        st.exchange(soci::into(name));
        st.exchange(soci::into(attributes));
        st.exchange(soci::into(created_us));
    }
    resource value() const { return resource{id, resource_type, name, attributes, created_us}; }
};

struct allocation_row {
    std::string id, resource_id, allocation_type, description, dump;
    long long from_us = 0, to_us = 0, created_us = 0;
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
    }
    allocation value() const {
        allocation a{id,           resource_id,  from_us,   to_us, allocation_type,
                     std::nullopt, std::nullopt, created_us};
        if (description_ind == soci::i_ok) a.description = description;
        if (dump_ind == soci::i_ok) a.dump_json = dump;
        return a;
    }
};

struct ping {
    soci::statement st;
    explicit ping(soci::session& s) : st(s) { prepare(st, postgresql_sql::ping); }
    void run() { st.execute(true); }
};

// --- resources -------------------------------------------------------------

struct find_resource {
    std::string id, type;
    resource_row row;
    soci::statement st;
    explicit find_resource(soci::session& s) : st(s) {
        st.exchange(soci::use(id, "id"));
        st.exchange(soci::use(type, "type"));
        row.bind(st);
        prepare(st, postgresql_sql::find_resource);
    }
};

// resource_seq and lock_resource.
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
struct resource_seq : seq_of_resource {
    explicit resource_seq(soci::session& s) : seq_of_resource(s, postgresql_sql::resource_seq) {}
};
struct lock_resource : seq_of_resource {
    explicit lock_resource(soci::session& s) : seq_of_resource(s, postgresql_sql::lock_resource) {}
};

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
        prepare(st, postgresql_sql::list_resources);
    }
};

struct name_holder {
    std::string type, name, self;
    std::string id;
    soci::statement st;
    explicit name_holder(soci::session& s) : st(s) {
        st.exchange(soci::use(type, "type"));
        st.exchange(soci::use(name, "name"));
        st.exchange(soci::use(self, "self"));
        st.exchange(soci::into(id));
        prepare(st, postgresql_sql::name_holder);
    }
};

struct insert_resource {
    resource_row in;
    long long seq = 0;
    soci::statement st;
    explicit insert_resource(soci::session& s) : st(s) {
        st.exchange(soci::use(in.id, "id"));
        st.exchange(soci::use(in.resource_type, "type"));
        st.exchange(soci::use(in.name, "name"));
        st.exchange(soci::use(in.attributes, "attributes"));
        st.exchange(soci::use(in.created_us, "created_us"));
        st.exchange(soci::into(seq));
        prepare(st, postgresql_sql::insert_resource);
    }
};

struct update_resource {
    resource_row in;
    soci::statement st;
    explicit update_resource(soci::session& s) : st(s) {
        st.exchange(soci::use(in.id, "id"));
        st.exchange(soci::use(in.resource_type, "type"));
        st.exchange(soci::use(in.name, "name"));
        st.exchange(soci::use(in.attributes, "attributes"));
        prepare(st, postgresql_sql::update_resource);
    }
};

struct delete_resource {
    std::string id;
    soci::statement st;
    explicit delete_resource(soci::session& s) : st(s) {
        st.exchange(soci::use(id, "id"));
        prepare(st, postgresql_sql::delete_resource);
    }
};

// --- allocations -----------------------------------------------------------

struct overlapping {
    std::string resource_id, self;
    long long from = 0, to = 0, limit = 0;
    std::string id;
    long long total = 0;
    soci::statement st;
    explicit overlapping(soci::session& s) : st(s) {
        st.exchange(soci::use(resource_id, "resource_id"));
        st.exchange(soci::use(from, "from"));
        st.exchange(soci::use(to, "to"));
        st.exchange(soci::use(self, "self"));
        st.exchange(soci::use(limit, "limit"));
        st.exchange(soci::into(id));
        st.exchange(soci::into(total));
        prepare(st, postgresql_sql::overlapping);
    }
};

struct ending_after {
    std::string resource_id;
    long long now = 0, limit = 0;
    std::string id;
    long long total = 0;
    soci::statement st;
    explicit ending_after(soci::session& s) : st(s) {
        st.exchange(soci::use(resource_id, "resource_id"));
        st.exchange(soci::use(now, "now"));
        st.exchange(soci::use(limit, "limit"));
        st.exchange(soci::into(id));
        st.exchange(soci::into(total));
        prepare(st, postgresql_sql::ending_after);
    }
};

struct first_ending_after {
    std::string resource_id;
    long long after = 0;
    long long from_us = 0, to_us = 0, seq = 0;
    soci::statement st;
    explicit first_ending_after(soci::session& s) : st(s) {
        st.exchange(soci::use(resource_id, "resource_id"));
        st.exchange(soci::use(after, "after"));
        st.exchange(soci::into(from_us));
        st.exchange(soci::into(to_us));
        st.exchange(soci::into(seq));
        prepare(st, postgresql_sql::first_ending_after);
    }
};

struct find_allocation {
    std::string id, resource_id;
    allocation_row row;
    soci::statement st;
    explicit find_allocation(soci::session& s) : st(s) {
        st.exchange(soci::use(id, "id"));
        st.exchange(soci::use(resource_id, "resource_id"));
        row.bind(st);
        prepare(st, postgresql_sql::find_allocation);
    }
};

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
        prepare(st, postgresql_sql::allocation_key);
    }
};

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
        prepare(st, postgresql_sql::list_allocations);
    }
};

// Insert and update share their bindings; update has no created_us and
// no results.
struct write_allocation {
    allocation_row in;
    soci::statement st;
    long long found = 0, inserted = 0;  // insert's results
    write_allocation(soci::session& s, const char* sql, bool insert) : st(s) {
        st.exchange(soci::use(in.id, "id"));
        st.exchange(soci::use(in.resource_id, "resource_id"));
        st.exchange(soci::use(in.from_us, "from_us"));
        st.exchange(soci::use(in.to_us, "to_us"));
        st.exchange(soci::use(in.allocation_type, "allocation_type"));
        st.exchange(soci::use(in.description, in.description_ind, "description"));
        st.exchange(soci::use(in.dump, in.dump_ind, "dump"));
        if (insert) {
            st.exchange(soci::use(in.created_us, "created_us"));
            st.exchange(soci::into(found));
            st.exchange(soci::into(inserted));
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
    }
};

struct insert_allocation : write_allocation {
    explicit insert_allocation(soci::session& s)
        : write_allocation(s, postgresql_sql::insert_allocation, true) {}
};
struct update_allocation : write_allocation {
    explicit update_allocation(soci::session& s)
        : write_allocation(s, postgresql_sql::update_allocation, false) {}
};

struct delete_allocation {
    std::string id, resource_id;
    soci::statement st;
    explicit delete_allocation(soci::session& s) : st(s) {
        st.exchange(soci::use(id, "id"));
        st.exchange(soci::use(resource_id, "resource_id"));
        prepare(st, postgresql_sql::delete_allocation);
    }
};

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

using statement_cache =
    cache<ping, find_resource, resource_seq, lock_resource, list_resources, name_holder,
          insert_resource, update_resource, delete_resource, overlapping, ending_after,
          first_ending_after, find_allocation, allocation_key, list_allocations, insert_allocation,
          update_allocation, delete_allocation>;

}  // namespace invsys::postgresql_queries
